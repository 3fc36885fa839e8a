"""Tickets: open ones by default, overdue first then nearest deadline, each clock in words and colour.

The filters start from the query (`?state=breached`, `?status=all`, `?priority=high`, `?tier=gold`),
so the overview's tiles link straight to the tickets behind them.
"""

from datetime import UTC, datetime

import streamlit as st

from dashboard import api_client, transforms, ui

st.title("Tickets")
loaded = ui.fetch("config", ui.config_in_force)
document = loaded["config"] if loaded else {"targets": {}}
priorities = list(document["targets"])
tiers = list(next(iter(document["targets"].values()), {}))
query = st.query_params
defaults = {
    "tickets_status": transforms.query_choice(query.get("status"), transforms.STATUSES)
    or list(transforms.OPEN_STATUSES),
    "tickets_state": transforms.query_choice(query.get("state"), transforms.SLA_STATES),
    "tickets_priority": transforms.query_choice(query.get("priority"), priorities),
    "tickets_tier": transforms.query_choice(query.get("tier"), tiers),
}
for key, value in defaults.items():
    st.session_state.setdefault(key, value)
filters = st.columns([3, 2, 2, 2, 2, 1])
statuses = filters[0].multiselect("Status (empty: all)", list(transforms.STATUSES), key="tickets_status")
states = filters[1].multiselect("SLA state", list(transforms.SLA_STATES), key="tickets_state")
chosen_priorities = filters[2].multiselect("Priority", priorities, key="tickets_priority")
chosen_tiers = filters[3].multiselect("Customer tier", tiers, key="tickets_tier")
sort = filters[4].selectbox("Sort by", list(transforms.SORTS), key="tickets_sort")
page_size = filters[5].selectbox("Per page", [25, 50, 100, 200], index=1, key="tickets_limit")
selection = (tuple(statuses), tuple(states), tuple(chosen_priorities), tuple(chosen_tiers), page_size)
if st.session_state.get("tickets_selection") != selection:
    st.session_state["tickets_selection"] = selection
    st.session_state["tickets_cursors"] = [None]
cursors: list[str | None] = st.session_state["tickets_cursors"]


@st.fragment(run_every=ui.REFRESH_SECONDS)
def listing() -> None:
    page = ui.fetch(
        f"tickets:{selection}:{cursors[-1]}",
        lambda: api_client.tickets(
            limit=page_size,
            cursor=cursors[-1],
            status=statuses,
            priority=chosen_priorities,
            customer_tier=chosen_tiers,
            sla_state=states,
        ),
    )
    if page is None:
        return
    if not page["items"]:
        st.info("No tickets match these filters." if any(selection[:4]) else "No tickets yet.")
        return
    ordered = transforms.sort_tickets(page["items"], sort, transforms.priority_ranks(document["targets"]))
    if sort != "time left":
        st.caption(f"Sorted by {sort} within this page; pages follow the deadlines (overdue first).")
    st.html(transforms.tickets_table(ordered, now=datetime.now(UTC), timezones=ui.timezones()))
    st.caption("Hover over a clock for its due instant (UTC).")
    ui.pager(cursors, page["next_cursor"], key="tickets", labels=("Previous", "Next"))


listing()
