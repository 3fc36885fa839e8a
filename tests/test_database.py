"""Ingestion's long statement is parsed by psycopg once, not on every execution."""

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
