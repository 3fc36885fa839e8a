"""I/O-free database work as a generator of statements, and the two drivers that run it.

A step generator yields a list of statements, receives the rows of each, and returns its result.
The same steps run on a blocking psycopg connection (tests, the benchmark, the evaluator's jobs)
and on an asyncio one (request handlers, without a thread per request).
"""

from collections.abc import Generator, Iterator
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError

# A statement in psycopg's parameter style and its parameters.
Statement = tuple[str, dict[str, Any]]
Rows = list[tuple[Any, ...]]
Steps = Generator[list[Statement], list[Rows], Any]

# Sent as a transaction's last statement, it commits in the round trip of the writes before it.
COMMIT: Statement = ("COMMIT", {})

# A transaction that lost a race with another one is worth running again, this many times in all.
ATTEMPTS = 3


def is_retryable(error: BaseException) -> bool:
    """Whether a database error means "run the transaction again": a deadlock or a serialization failure."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    return isinstance(cause, pg_errors.DeadlockDetected | pg_errors.SerializationFailure)


def run_steps(connection: psycopg.Connection[Any], steps: Steps) -> Any:
    """Run I/O-free steps on a blocking connection, the statements of each yield in order."""
    try:
        statements = next(steps)
        while True:
            statements = steps.send([rows_of(connection.execute(sql, params)) for sql, params in statements])
    except StopIteration as done:
        return done.value


def rows_of(cursor: psycopg.Cursor[Any]) -> Rows:
    """The rows of a statement; none for one without rows, such as a COMMIT."""
    return cursor.fetchall() if cursor.description is not None else []


async def _rows_async(cursor: psycopg.AsyncCursor[Any]) -> Rows:
    """The rows of a statement on an asyncio connection; none for one without rows."""
    return await cursor.fetchall() if cursor.description is not None else []


async def run_steps_async(connection: psycopg.AsyncConnection[Any], steps: Steps) -> Any:
    """Run I/O-free steps on an asyncio connection, the statements of each yield in order.

    The statements of one yield go in one round trip (pipeline mode) when there are several: psycopg
    drives a pipeline in Python, which costs more than the round trip it saves for one statement.
    """
    try:
        statements = next(steps)
        while True:
            statements = steps.send(await _execute_async(connection, statements))
    except StopIteration as done:
        return done.value


async def _execute_async(connection: psycopg.AsyncConnection[Any], statements: list[Statement]) -> list[Rows]:
    """The rows of each statement, all sent before the first answer is awaited when there are several."""
    if len(statements) == 1:
        ((sql, params),) = statements
        return [await _rows_async(await connection.execute(sql, params))]
    async with connection.pipeline():
        cursors = [await connection.execute(sql, params) for sql, params in statements]
    return [await _rows_async(cursor) for cursor in cursors]


class _Attempt:
    """One try of a transaction: a retryable error leaving its block is swallowed unless it was the last try."""

    def __init__(self, last: bool) -> None:
        self.last = last

    def __enter__(self) -> "_Attempt":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: object) -> bool:
        return error is not None and not self.last and is_retryable(error)


def attempts() -> Iterator[_Attempt]:
    """Tries of a transaction that may lose a race with another one, for blocking and asyncio code alike.

    for attempt in attempts():
        with attempt:
            return work()
        rollback()  # reached only after a retryable failure; the last one is raised
    """
    for number in range(1, ATTEMPTS + 1):
        yield _Attempt(last=number == ATTEMPTS)
