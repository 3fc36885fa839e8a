"""One ticket: both clocks in full, and its snapshots (with their source) and events as one timeline."""

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from dashboard import api_client, transforms, ui

st.title("Ticket detail")
chosen = st.text_input("Ticket id", value=st.query_params.get("id", ""), key="detail_id").strip()
if chosen and st.query_params.get("id") != chosen:
    st.query_params["id"] = chosen


def _clock(name: str, clock: dict[str, Any], timezones: dict[str, str]) -> None:
    badge = transforms.clock_badge(clock, now=datetime.now(UTC), timezones=timezones)
    with st.container(border=True):
        st.markdown(f"**{name.title()} clock** · {clock['state']} · calendar `{clock['calendar']}`")
        st.html(f'<div style="font-size:1.4em">{transforms.badge_html(badge, f"badge clock-{name}")}</div>')
        counting = "counting now" if clock["counting"] else "not counting now"
        st.caption(
            f"target {transforms.format_duration(clock['target_seconds'])} · elapsed "
            f"{transforms.format_duration(clock['elapsed_seconds'])} · remaining "
            f"{transforms.format_duration(clock['remaining_seconds'])} · {counting}"
        )
        st.caption(
            f"alert at {transforms.short_time(clock['alert_at'])} · due {transforms.short_time(clock['due_at'])} (UTC)"
        )


@st.fragment(run_every=ui.REFRESH_SECONDS)
def detail() -> None:
    if not chosen:
        st.info("Pick a ticket in the Tickets or Alerts page, or type its id.")
        return
    loaded = ui.fetch(f"ticket:{chosen}", lambda: api_client.ticket(chosen) or {})
    if loaded is None:
        return
    if not loaded:
        st.warning(f"No ticket {chosen!r}.")
        return
    ticket = loaded["ticket"]
    st.html(
        f'<h3 style="margin:0">{ticket["id"]} &nbsp; '
        f"{transforms.badge_html(transforms.state_badge(ticket['sla_state']))}</h3>"
    )
    st.caption(
        f"{ticket['priority']} / {ticket['customer_tier']} · status {ticket['status'].replace('_', ' ')} · created "
        f"{transforms.short_time(ticket['created_at'])} UTC · config version {ticket['config_version']}"
    )
    timezones = ui.timezones()
    for column, name in zip(st.columns(2), transforms.CLOCKS, strict=True):
        with column:
            _clock(name, loaded["clocks"][name], timezones)
    st.subheader("Timeline")
    shown, total = len(loaded["history"]), loaded.get("history_total", len(loaded["history"]))
    if total > shown:
        st.caption(f"The newest {shown:,} of {total:,} snapshots (GET /tickets/{{id}}/history pages through all).")
    st.html(transforms.timeline_table(transforms.timeline(loaded)))


detail()
