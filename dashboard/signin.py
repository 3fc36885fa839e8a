"""Sign-in with OpenID Connect (`st.login`) before any page, when Streamlit's secrets have an `[auth]` section.

Only the e-mail addresses and domains in SLA_DASHBOARD_ALLOWED_USERS get past it.
"""

import os
from collections.abc import Mapping
from typing import Any

import streamlit as st

from dashboard.access import AllowedUsers

OPEN_NOTICE = "No sign-in is configured: anyone who can reach this dashboard can use it."
NOBODY_ALLOWED = (
    "SLA_DASHBOARD_ALLOWED_USERS is empty, so nobody is allowed in yet: set it to the e-mail addresses"
    " or domains (`example.com`) that may use the dashboard."
)


def auth_section() -> dict[str, Any] | None:
    """Streamlit's `[auth]` secrets, or None when no identity provider is configured."""
    if not st.secrets.load_if_toml_exists():
        return None
    section = st.secrets.get("auth")
    return dict(section) if section else None


def providers(section: dict[str, Any]) -> list[str | None]:
    """The providers `st.login` can use: None for the one in `[auth]` itself, then each named `[auth.NAME]`."""
    named = [name for name, value in section.items() if isinstance(value, Mapping) and "client_id" in value]
    return ([None] if "client_id" in section else []) + named


def require_allowed_user() -> None:
    """Stop the run unless sign-in is off (then say so) or the signed-in user is on the allowed list."""
    section = auth_section()
    if section is None:
        st.warning(OPEN_NOTICE, icon=":material/lock_open:")
        return
    choices = providers(section)
    if not choices:
        # An [auth] section is there, so the operator meant to turn sign-in on: stay closed.
        st.error("Sign-in is configured without a provider: the `[auth]` secrets name no `client_id`.")
        st.stop()
    allowed = AllowedUsers.parse(os.environ.get("SLA_DASHBOARD_ALLOWED_USERS", ""))
    if not st.user.is_logged_in:
        _sign_in_page(choices, allowed)
        st.stop()
    email = st.user.get("email")
    if not allowed.admits(email, email_verified=st.user.get("email_verified")):
        _turned_away_page(email, allowed)
        st.stop()
    with st.sidebar:
        st.caption("Signed in as")
        st.text(str(email))
        st.button("Sign out", key="sign_out", on_click=st.logout, icon=":material/logout:")


def _sign_in_page(choices: list[str | None], allowed: AllowedUsers) -> None:
    st.title("SLA monitor")
    st.write("Sign in to see the SLA dashboard.")
    for provider in choices:
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        st.button(label, key=f"sign_in_{provider}", type="primary", on_click=st.login, args=(provider,))
    if allowed.is_empty:
        st.warning(NOBODY_ALLOWED)


def _turned_away_page(email: object, allowed: AllowedUsers) -> None:
    st.title("SLA monitor")
    st.error("This account is not allowed to use this dashboard.", icon=":material/block:")
    # Shown as plain text: the claim comes from the provider and is not ours to render as Markdown.
    st.text(f"Signed in as {email}" if email else "The identity provider sent no e-mail address.")
    st.write(NOBODY_ALLOWED if allowed.is_empty else "Ask an administrator to add you to the allowed users.")
    st.button("Sign out", key="sign_out", on_click=st.logout, icon=":material/logout:")
