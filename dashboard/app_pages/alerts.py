"""Alerts and breaches, newest first: amber for alerts, red for breaches, each linking to its ticket."""

import streamlit as st

from dashboard import api_client, transforms, ui

st.title("Alerts and breaches")
choices = ui.fetch("choices", ui.config_choices) or ([], [])
st.session_state.setdefault("alerts_kind", transforms.query_choice(st.query_params.get("kind"), ("alert", "breach")))
filters = st.columns([2, 2, 2, 2, 2, 1])
kinds = filters[0].multiselect("Kind", ["alert", "breach"], key="alerts_kind")
clocks = filters[1].multiselect("Clock", list(transforms.CLOCKS), key="alerts_clock")
priorities = filters[2].multiselect("Priority", choices[0], key="alerts_priority")
tiers = filters[3].multiselect("Customer tier", choices[1], key="alerts_tier")
ticket = filters[4].text_input("Ticket id", key="alerts_ticket").strip()
page_size = filters[5].selectbox("Per page", [25, 50, 100, 200], index=1, key="alerts_limit")
selection = (tuple(kinds), tuple(clocks), tuple(priorities), tuple(tiers), ticket, page_size)
if st.session_state.get("alerts_selection") != selection:
    st.session_state["alerts_selection"] = selection
    st.session_state["alerts_cursors"] = [None]
cursors: list[str | None] = st.session_state["alerts_cursors"]


@st.fragment(run_every=ui.REFRESH_SECONDS)
def events() -> None:
    page = ui.fetch(
        f"alerts:{selection}:{cursors[-1]}",
        lambda: api_client.alerts(
            limit=page_size,
            cursor=cursors[-1],
            kind=kinds,
            clock=clocks,
            priority=priorities,
            customer_tier=tiers,
            ticket=ticket,
        ),
    )
    if page is None:
        return
    if not page["items"]:
        st.info("No alerts or breaches match." if any(selection[:5]) else "No alerts or breaches yet.")
        return
    st.html(transforms.events_table(page["items"]))
    ui.pager(cursors, page["next_cursor"], key="alerts", labels=("Newer", "Older"))


events()
