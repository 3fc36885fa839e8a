"""Overview: the figures of GET /dashboard/summary as tiles and charts."""

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import api_client, transforms, ui

st.title("SLA overview")


@st.fragment(run_every=ui.REFRESH_SECONDS)
def overview() -> None:
    summary = ui.fetch(api_client.summary)
    if summary is None:
        return
    states = summary["by_state"]
    compliance = summary["compliance"]
    tiles = st.columns(5)
    tiles[0].metric("Open tickets", f"{summary['open_tickets']:,}")
    tiles[1].metric("At risk", f"{states['at_risk']:,}")
    tiles[2].metric("Breached", f"{states['breached']:,}")
    tiles[3].metric("Response compliance", transforms.compliance_text(compliance["response"]["compliance"]))
    tiles[4].metric("Resolution compliance", transforms.compliance_text(compliance["resolution"]["compliance"]))
    _notification_health()
    st.caption(
        f"Fell due in the last 24 h: {summary['events']['alert']:,} alerts, {summary['events']['breach']:,} breaches."
        f" Updated {transforms.short_time(summary['generated_at'])} UTC."
    )
    left, right = st.columns(2)
    with left:
        st.subheader("Alerts and breaches, last 24 hours")
        hourly = pd.DataFrame(transforms.event_chart_rows(summary))
        if not summary["events"]["alert"] and not summary["events"]["breach"]:
            st.info("No alerts or breaches in the last 24 hours.")
        else:
            hourly["start"] = pd.to_datetime(hourly["start"])
            colors = alt.Scale(
                domain=["alert", "breach"], range=[transforms.EVENT_COLORS["alert"], transforms.EVENT_COLORS["breach"]]
            )
            chart = (
                alt.Chart(hourly)
                .mark_bar()
                .encode(
                    x=alt.X("start:T", title="hour it fell due (UTC)"),
                    y=alt.Y("events:Q"),
                    color=alt.Color("kind:N", scale=colors),
                )
            )
            st.altair_chart(chart, width="stretch")
    with right:
        st.subheader("Compliance by priority and tier (%)")
        rows = pd.DataFrame(transforms.compliance_rows(summary))
        if rows.empty:
            st.info("No clock has finished or breached yet.")
        else:
            st.bar_chart(rows, x="segment", y="compliance", color="clock", stack=False)
    st.subheader("Open tickets by priority and tier")
    st.dataframe(
        pd.DataFrame(summary["by_priority_tier"]).rename(
            columns={"response_compliance": "response compliance", "resolution_compliance": "resolution compliance"}
        ),
        hide_index=True,
    )


def _notification_health() -> None:
    """Say so when a destination was disabled or deliveries died; say nothing when all is well."""
    destinations = ui.fetch(api_client.notifications)
    if destinations is None:
        return
    for item in destinations["items"]:
        if item["state"] == "disabled":
            st.error(
                f"**Notifications to {item['name']} are disabled**: {item['disabled_reason']}. "
                f"{item['pending']:,} deliveries wait; re-enable it with POST /notifications/{item['name']}/enable.",
                icon=":material/notifications_off:",
            )
        if item["dead"]:
            st.warning(
                f"**{item['dead']:,} notifications to {item['name']} failed** after every retry "
                "(GET /notifications/deliveries?status=dead lists them).",
                icon=":material/mark_email_unread:",
            )


overview()
