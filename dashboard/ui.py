"""Helpers shared by the pages: the refresh period, the last good data and the one API-down banner."""

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import streamlit as st

from dashboard import api_client, transforms

T = TypeVar("T")

REFRESH_SECONDS = float(os.environ.get("SLA_DASHBOARD_REFRESH_SECONDS", "5"))
DOWN = "api_down"


def fetch(key: str, load: Callable[[], T]) -> T | None:
    """The API's answer; while the API is down, the last answer this session had under `key`, marked stale.

    The banner saying the API is away is drawn once, by `api_status`; here only a stale mark.
    """
    kept = f"kept:{key}"
    try:
        value = load()
    except api_client.ApiUnavailable:
        if kept not in st.session_state:
            return None
        value, at = st.session_state[kept]
        st.caption(f":orange-badge[:material/history: stale] Last data from {at:%H:%M:%S} UTC; the API is away.")
        return value
    except api_client.ApiRejected as exc:
        st.error(f"The API refused the dashboard's request ({exc.status} {exc.error}): {exc.detail}")
        return None
    st.session_state[kept] = (value, datetime.now(UTC))
    return value


@st.cache_data(ttl=5, show_spinner=False)
def config_in_force() -> dict[str, Any]:
    """GET /config, shared by the pages for a few seconds."""
    return api_client.config()


def config_choices() -> tuple[list[str], list[str]]:
    """Priorities and tiers named by the config in force."""
    targets = config_in_force()["config"]["targets"]
    tiers = list(next(iter(targets.values())).keys()) if targets else []
    return list(targets.keys()), tiers


def timezones() -> dict[str, str]:
    """Each calendar's time zone, from the last config this session saw."""
    loaded = fetch("config", config_in_force)
    return transforms.calendar_timezones(loaded["config"]) if loaded else {}


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


def _newest_breaches() -> list[dict[str, Any]]:
    """Breaches recorded since this session's last look (the first look only remembers where it stands)."""
    if "last_breach_id" not in st.session_state:
        page = api_client.alerts(limit=1, kind=["breach"])
        st.session_state["last_breach_id"] = int(page["items"][0]["id"]) if page["items"] else 0
        return []
    page = api_client.alerts(limit=20, kind=["breach"], after=st.session_state["last_breach_id"])
    items: list[dict[str, Any]] = page["items"]
    if items:
        st.session_state["last_breach_id"] = max(int(event["id"]) for event in items)
    return items


@st.fragment(run_every=REFRESH_SECONDS)
def api_status() -> None:
    """One banner while the API is away; when it is back, the whole page is drawn again; a toast per new breach."""
    was_down = st.session_state.get(DOWN)
    try:
        breaches = _newest_breaches()
    except api_client.ApiUnavailable as exc:
        st.session_state[DOWN] = str(exc)
        st.error(
            f"**The API is not reachable.** {exc}. What you see is the last data this page had, marked stale; "
            f"retrying every {REFRESH_SECONDS:g} s.",
            icon=":material/cloud_off:",
        )
        return
    except api_client.ApiRejected:
        return  # the page's own call says why
    st.session_state.pop(DOWN, None)
    if was_down:
        st.rerun()
    for event in reversed(breaches):
        st.toast(
            f"**Breach**: {event['ticket_id']} ({event['priority']} / {event['customer_tier']}), "
            f"{event['clock']} clock",
            icon=":material/alarm:",
        )
