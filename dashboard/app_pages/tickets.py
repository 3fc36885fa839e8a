"""Tickets, nearest deadline first, with each clock's remaining time in its color."""

import streamlit as st

from dashboard import api_client, transforms, ui

st.title("Tickets")
choices = ui.fetch(ui.config_choices) or ([], [])
filters = st.columns(5)
statuses = filters[0].multiselect(
    "Status", ["open", "in_progress", "pending", "resolved", "closed"], key="tickets_status"
)
priorities = filters[1].multiselect("Priority", choices[0], key="tickets_priority")
tiers = filters[2].multiselect("Customer tier", choices[1], key="tickets_tier")
states = filters[3].multiselect("SLA state", ["ok", "at_risk", "breached"], key="tickets_state")
page_size = filters[4].selectbox("Per page", [25, 50, 100, 200], index=1, key="tickets_limit")
selection = (tuple(statuses), tuple(priorities), tuple(tiers), tuple(states), page_size)
if st.session_state.get("tickets_selection") != selection:
    st.session_state["tickets_selection"] = selection
    st.session_state["tickets_cursors"] = [None]
cursors: list[str | None] = st.session_state["tickets_cursors"]


@st.fragment(run_every=ui.REFRESH_SECONDS)
def listing() -> None:
    page = ui.fetch(
        lambda: api_client.tickets(
            limit=page_size,
            cursor=cursors[-1],
            status=statuses,
            priority=priorities,
            customer_tier=tiers,
            sla_state=states,
        )
    )
    if page is None:
        return
    if not page["items"]:
        st.info("No tickets match these filters." if any(selection[:4]) else "No tickets yet.")
        return
    st.html(transforms.tickets_table(page["items"]))
    ui.pager(cursors, page["next_cursor"], key="tickets", labels=("Previous", "Next"))


listing()
