"""`python -m dashboard [streamlit options]`: `streamlit run dashboard/streamlit_app.py`.

When SLA_OIDC_ISSUER_URL is set, it first writes Streamlit's `[auth]` secrets from the SLA_OIDC_*
variables and SLA_DASHBOARD_URL to a file only this user can read, and points Streamlit at it.
"""

import os
import secrets
import sys
import tempfile
from pathlib import Path

from dashboard.access import SignInMisconfigured, auth_secrets_toml

APP = Path(__file__).resolve().parent / "streamlit_app.py"


def write_private(text: str) -> Path:
    """`text` in a new file in a new folder, both readable by this user only."""
    path = Path(tempfile.mkdtemp(prefix="sla-dashboard-")) / "secrets.toml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    return path


def main(arguments: list[str]) -> None:
    """Make the sign-in secrets if the environment asks for them, then become `streamlit run`."""
    env = dict(os.environ)
    try:
        # Without SLA_OIDC_COOKIE_SECRET a new secret each start: people sign in again after a restart.
        auth = auth_secrets_toml(env, fallback_cookie_secret=secrets.token_urlsafe(32))
    except SignInMisconfigured as exc:
        sys.exit(f"dashboard sign-in: {exc}")
    if auth is not None:
        if env.get("STREAMLIT_SECRETS_FILES"):
            sys.exit("dashboard sign-in: set either SLA_OIDC_* or STREAMLIT_SECRETS_FILES, not both")
        env["STREAMLIT_SECRETS_FILES"] = str(write_private(auth))
    command = [sys.executable, "-m", "streamlit", "run", str(APP), *arguments]
    os.execve(sys.executable, command, env)  # noqa: S606 (our own interpreter and app)


if __name__ == "__main__":
    main(sys.argv[1:])
