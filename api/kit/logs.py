"""Logging of the service process: text for a terminal, or one JSON object a line (`SLA_LOG_FORMAT=json`).

Every record carries `request_id`, the id of the request being served ("-" outside one), so the
lines of one request can be found from the `X-Request-ID` its answer carried.
"""

import logging
import re
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

from api.kit.edge import REQUEST_ID

QUIET_LIBRARIES = ("alembic", "apscheduler")
# uvicorn gives these handlers of their own; they go through the root's instead, to share its format.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Put the id of the request being served on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record, now with its request id."""
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


_TOKEN_IN_QUERY = re.compile(r"(access_token=)[^&\s]*")


class QueryTokenFilter(logging.Filter):
    """Mask a key sent in a query string (`?access_token=`, the streams' way) before a line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record, with any query token masked in its message and arguments."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1***", value) if isinstance(value, str) else value for value in record.args
            )
        if isinstance(record.msg, str) and "access_token=" in record.msg:
            record.msg = _TOKEN_IN_QUERY.sub(r"\1***", record.msg)
        return True


class _ServiceHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The service's own handler on the root logger, told apart from any other (such as a test's)."""


def configure(log_format: Literal["text", "json"] = "text") -> None:
    """Log INFO and above to stderr in the format asked for; libraries that chatter only warnings."""
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if isinstance(handler, _ServiceHandler)]:
        root.removeHandler(handler)
    handler = _ServiceHandler()
    handler.addFilter(RequestIdFilter())
    handler.addFilter(QueryTokenFilter())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        # A logger without handlers that does not propagate is one the server turned off (--no-access-log).
        if server_logger.handlers:
            server_logger.handlers.clear()
            server_logger.propagate = True
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
