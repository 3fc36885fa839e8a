"""One ticket: both clocks, the history and events as a timeline."""

import pandas as pd
import streamlit as st

from dashboard import api_client, transforms, ui

st.title("Ticket detail")
chosen = st.text_input("Ticket id", value=st.query_params.get("id", ""), key="detail_id")
if chosen and st.query_params.get("id") != chosen:
    st.query_params["id"] = chosen


@st.fragment(run_every=ui.REFRESH_SECONDS)
def detail() -> None:
    if not chosen:
        st.info("Pick a ticket in the Tickets or Alerts page, or type its id.")
        return
    loaded = ui.fetch(lambda: api_client.ticket(chosen) or {})
    if loaded is None:
        return
    if not loaded:
        st.warning(f"No ticket {chosen!r}.")
        return
    ticket = loaded["ticket"]
    state = ticket["sla_state"]
    st.markdown(
        f"### {ticket['id']} &nbsp; :{'red' if state == 'breached' else 'orange' if state == 'at_risk' else 'green'}"
        f"-badge[{state.replace('_', ' ')}]"
    )
    st.caption(
        f"{ticket['priority']} / {ticket['customer_tier']} · status {ticket['status']} · created "
        f"{transforms.short_time(ticket['created_at'])} UTC · config version {ticket['config_version']}"
    )
    for column, name in zip(st.columns(2), ("response", "resolution"), strict=True):
        clock = loaded["clocks"][name]
        with column.container(border=True):
            st.markdown(f"**{name.title()} clock** · {clock['state']}")
            st.markdown(
                f"<span style='color:{transforms.clock_color(clock)};font-size:1.6em;font-weight:600'>"
                f"{transforms.format_duration(clock['remaining_seconds'])}</span> left of "
                f"{transforms.format_duration(clock['target_seconds'])}",
                unsafe_allow_html=True,
            )
            st.caption(
                f"elapsed {transforms.format_duration(clock['elapsed_seconds'])} · alert at "
                f"{transforms.short_time(clock['alert_at'])} · due {transforms.short_time(clock['due_at'])} (UTC)"
            )
    st.subheader("Timeline")
    st.dataframe(pd.DataFrame(transforms.timeline(loaded)), hide_index=True, width="stretch")
    st.subheader("Events")
    if loaded["events"]:
        st.html(transforms.events_table(loaded["events"]))
    else:
        st.caption("No alert or breach recorded.")


detail()
