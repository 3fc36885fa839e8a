"""Container health check: exit 0 when the URL answers 200 (`python scripts/healthcheck.py URL`)."""

import sys
import urllib.request


def main() -> int:
    """Fetch the URL given as the only argument."""
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=5) as response:  # noqa: S310 (a local URL from compose)
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
