"""`python -m api.keys create --name zendesk --scopes tickets:write`, `list`, `revoke ID`, on the service's database."""

import argparse
import sys

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from api.keys import service
from api.keys.schemas import KeyCreate
from api.kit import clock, database
from api.settings import get_settings


def main(arguments: list[str] | None = None) -> int:
    """Run one key command against DATABASE_URL (or the embedded PostgreSQL)."""
    parser = argparse.ArgumentParser(prog="python -m api.keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="make a key and print it (shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", required=True, help="comma-separated: tickets:write, read, admin")
    create.add_argument("--expires-at", help="RFC 3339, such as 2027-06-30T00:00:00Z")
    commands.add_parser("list", help="every key not revoked")
    revoke = commands.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    options = parser.parse_args(arguments)

    url = database.resolve_database_url(get_settings())
    database.migrate(url)
    engine = database.make_engine(url, pool_size=1)
    try:
        with sessionmaker(engine)() as session:
            code = _run(options, session)
            session.commit()
        return code
    finally:
        engine.dispose()


def _run(options: argparse.Namespace, session: Session) -> int:
    if options.command == "create":
        scopes = [scope.strip() for scope in options.scopes.split(",") if scope.strip()]
        try:
            asked = KeyCreate(name=options.name, scopes=scopes, expires_at=options.expires_at)
        except ValidationError as exc:
            for problem in exc.errors():
                where = ".".join(str(part) for part in problem["loc"][:1]) or "key"
                print(f"--{where.replace('_', '-')}: {problem['msg']}")
            return 2
        made = service.create(
            session, name=asked.name, scopes=asked.scopes, expires_at=asked.expires_at, now=clock.utc_now()
        )
        print(f"id {made.row.id} · {made.row.name} · {', '.join(made.row.scopes)}")
        print(made.key)
        return 0
    if options.command == "list":
        for row in service.listed(session):
            expiry = row.expires_at.isoformat() if row.expires_at else "never"
            used = row.last_used_at.isoformat() if row.last_used_at else "never"
            print(f"{row.id}\t{row.name}\t{','.join(row.scopes)}\texpires {expiry}\tlast used {used}")
        return 0
    if not service.revoke(session, key_id=options.id, now=clock.utc_now()):
        print(f"no live key {options.id}")
        return 1
    print(f"key {options.id} revoked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
