"""The database connections as ingestion needs them: its long statement parsed once, read committed."""

import asyncio

import psycopg
import psycopg._queries

from api.kit import database
from api.tickets.statements import CLAIM


def test_the_longest_statement_is_kept_parsed_between_executions(database_url: str) -> None:
    assert len(CLAIM) <= psycopg._queries.MAX_CACHED_STATEMENT_LENGTH
    long_statement = "SELECT %(value)s::int" + " " * len(CLAIM)
    with psycopg.connect(database.libpq_url(database_url)) as connection:
        connection.execute(long_statement, {"value": 1})
        before = psycopg._queries._query2pg.cache_info()
        connection.execute(long_statement, {"value": 2})
        after = psycopg._queries._query2pg.cache_info()

    assert (after.hits - before.hits, after.misses - before.misses) == (1, 0)


async def _isolation_of_a_pooled_connection(database_url: str) -> tuple[str, str]:
    pool = database.make_async_pool(database_url, max_size=1)
    await pool.open()
    try:
        async with pool.connection() as connection:
            await connection.set_autocommit(True)
            alone = await (await connection.execute("SHOW transaction_isolation")).fetchone()
            await connection.set_autocommit(False)
            inside = await (await connection.execute("SHOW transaction_isolation")).fetchone()
    finally:
        await pool.close()
    assert alone is not None
    assert inside is not None
    return alone[0], inside[0]


def test_ingestion_connections_read_committed_whatever_the_default(database_url: str) -> None:
    with psycopg.connect(database.libpq_url(database_url), autocommit=True) as connection:
        name = connection.execute("SELECT current_database()").fetchone()
        assert name is not None
        connection.execute(f"ALTER DATABASE \"{name[0]}\" SET default_transaction_isolation = 'serializable'")
    try:
        assert asyncio.run(_isolation_of_a_pooled_connection(database_url)) == ("read committed", "read committed")
    finally:
        with psycopg.connect(database.libpq_url(database_url), autocommit=True) as connection:
            connection.execute(f'ALTER DATABASE "{name[0]}" RESET default_transaction_isolation')
