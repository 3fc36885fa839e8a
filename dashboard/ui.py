"""Helpers shared by the pages: the refresh period and the API-down banner."""

import os
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from dashboard import api_client

T = TypeVar("T")

REFRESH_SECONDS = float(os.environ.get("SLA_DASHBOARD_REFRESH_SECONDS", "5"))


def fetch(load: Callable[[], T]) -> T | None:
    """Call the API; while it is down show a banner (the page retries on its next refresh)."""
    try:
        return load()
    except api_client.ApiUnavailable as exc:
        st.error(
            f"**The API is not reachable.** {exc}. Retrying every {REFRESH_SECONDS:g} s.",
            icon=":material/cloud_off:",
        )
        return None


@st.cache_data(ttl=10, show_spinner=False)
def config_choices() -> tuple[list[str], list[str]]:
    """Priorities and tiers named by the config in force."""
    targets = api_client.config()["config"]["targets"]
    tiers = list(next(iter(targets.values())).keys()) if targets else []
    return list(targets.keys()), tiers


def pager(cursors: list[str | None], next_cursor: str | None, *, key: str, labels: tuple[str, str]) -> None:
    """Back and forward buttons over an API cursor; `cursors` holds the cursor of every page so far."""
    back, number, forward = st.columns([1, 2, 1])
    if back.button(labels[0], disabled=len(cursors) == 1, key=f"{key}_back"):
        cursors.pop()
        st.rerun()
    number.caption(f"Page {len(cursors)}")
    if forward.button(labels[1], disabled=next_cursor is None, key=f"{key}_forward"):
        cursors.append(next_cursor)
        st.rerun()


def _newest_breach_id() -> int:
    page = api_client.alerts(limit=1, kind=["breach"])
    return int(page["items"][0]["id"]) if page["items"] else 0


@st.fragment(run_every=REFRESH_SECONDS)
def breach_toasts() -> None:
    """Announce, on every page, each breach recorded since this browser session began."""
    try:
        if "last_breach_id" not in st.session_state:
            st.session_state["last_breach_id"] = _newest_breach_id()
            return
        page = api_client.alerts(limit=20, kind=["breach"], after=st.session_state["last_breach_id"])
    except (api_client.ApiUnavailable, api_client.ApiRejected):
        return  # the page's own banner says the API is away
    for event in reversed(page["items"]):
        st.toast(
            f"**Breach**: {event['ticket_id']} ({event['priority']} / {event['customer_tier']}), "
            f"{event['clock']} clock",
            icon=":material/alarm:",
        )
    if page["items"]:
        st.session_state["last_breach_id"] = max(int(event["id"]) for event in page["items"])
