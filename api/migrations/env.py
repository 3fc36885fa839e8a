"""Alembic environment: migrations run under an advisory lock so replicas starting together take turns."""

from alembic import context
from sqlalchemy import create_engine, pool, text

from api import models  # noqa: F401  (registers the tables)
from api.kit.database import Base

MIGRATION_LOCK_KEY = 7_306_241_001

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Apply migrations on a live connection."""
    url = config.get_main_option("sqlalchemy.url")
    if not url:  # run from the command line: use the service's own database settings
        from api.kit.database import resolve_database_url, sqlalchemy_url
        from api.settings import get_settings

        url = sqlalchemy_url(resolve_database_url(get_settings()))
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                transaction_per_migration=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
    engine.dispose()


run_migrations_online()
