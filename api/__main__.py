"""`python -m api [uvicorn options]`: uvicorn serving `api.main:app` with the service's HTTP protocol.

The same as `uvicorn api.main:app --http api.kit.server:HeadTimeoutProtocol [options]`.
"""

import sys

from uvicorn.main import main

if __name__ == "__main__":
    sys.exit(main(["api.main:app", "--http", "api.kit.server:HeadTimeoutProtocol", *sys.argv[1:]]))
