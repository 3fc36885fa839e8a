"""Logging of the service process."""

import logging

QUIET_LIBRARIES = ("alembic", "apscheduler")


def configure() -> None:
    """Log INFO and above to stderr with time, level and logger; libraries that chatter only warnings."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
