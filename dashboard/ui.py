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
