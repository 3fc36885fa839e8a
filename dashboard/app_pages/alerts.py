"""Alerts and breaches, newest first: amber for alerts, red for breaches."""

import streamlit as st

from dashboard import api_client, transforms, ui

st.title("Alerts and breaches")
filters = st.columns([2, 2, 1])
kinds = filters[0].multiselect("Kind", ["alert", "breach"], key="alerts_kind")
clocks = filters[1].multiselect("Clock", ["response", "resolution"], key="alerts_clock")
page_size = filters[2].selectbox("Per page", [25, 50, 100, 200], index=1, key="alerts_limit")
cursors: list[str | None] = st.session_state.setdefault("alerts_cursors", [None])


@st.fragment(run_every=ui.REFRESH_SECONDS)
def events() -> None:
    page = ui.fetch(lambda: api_client.alerts(limit=page_size, cursor=cursors[-1], kind=kinds, clock=clocks))
    if page is None:
        return
    if not page["items"]:
        st.info("No alerts or breaches match." if kinds or clocks else "No alerts or breaches yet.")
        return
    st.html(transforms.events_table(page["items"]))
    ui.pager(cursors, page["next_cursor"], key="alerts", labels=("Newer", "Older"))


events()
