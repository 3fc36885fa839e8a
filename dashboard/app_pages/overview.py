"""Overview: tiles linking to the tickets behind them, the next-to-breach queue, events and compliance charts."""

from datetime import UTC, datetime
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import api_client, transforms, ui

WINDOWS = {"24h": "last 24 hours", "7d": "last 7 days", "30d": "last 30 days"}
QUEUE_LENGTH = 10
CLOCK_COLORS = alt.Scale(domain=list(transforms.CLOCKS), range=[transforms.BLUE, "#8430ce"])
PERCENT = alt.Scale(domain=[0, 100])

st.title("SLA overview")
chosen = st.segmented_control(
    "Events and compliance over",
    list(WINDOWS),
    format_func=lambda name: WINDOWS[name],
    default="24h",
    key="overview_window",
)
window: str = chosen or "24h"


def next_to_breach() -> dict[str, Any]:
    """Open tickets not yet breached, nearest deadline first."""
    return api_client.tickets(limit=QUEUE_LENGTH, status=list(transforms.OPEN_STATUSES), sla_state=["ok", "at_risk"])


@st.fragment(run_every=ui.REFRESH_SECONDS)
def overview() -> None:
    summary = ui.fetch(f"summary:{window}", lambda: api_client.summary(window))
    if summary is None:
        return
    st.html(transforms.tiles_html(transforms.overview_tiles(summary)))
    _health()
    st.caption(f"Updated {transforms.short_time(summary['generated_at'])} UTC.")
    queue, events = st.columns([2, 3])
    with queue:
        _queue()
    with events:
        _events_chart(summary)
    by_day, by_segment = st.columns(2)
    with by_day:
        _daily_compliance(summary)
    with by_segment:
        _segment_compliance(summary)
    st.subheader("Open tickets by priority and tier")
    st.dataframe(pd.DataFrame(transforms.segment_rows(summary)), hide_index=True, width="stretch")


def _queue() -> None:
    st.subheader("Next to breach")
    page = ui.fetch("queue", next_to_breach)
    if page is None:
        return
    if not page["items"]:
        st.info("No open ticket has a deadline ahead.")
        return
    st.html(transforms.queue_rows(page["items"], now=datetime.now(UTC), timezones=ui.timezones()))


def _events_chart(summary: dict[str, Any]) -> None:
    st.subheader(f"Alerts and breaches by when they fell due, {WINDOWS[summary['window']]}")
    rows = pd.DataFrame(transforms.event_chart_rows(summary))
    if not summary["events"]["alert"] and not summary["events"]["breach"]:
        st.info(f"Nothing fell due in the {WINDOWS[summary['window']]}.")
    colors = alt.Scale(
        domain=["alert", "breach"], range=[transforms.EVENT_COLORS["alert"], transforms.EVENT_COLORS["breach"]]
    )
    chart = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X(
                "label:O", sort=None, title=f"{summary['bucket']} it fell due (UTC)", axis=alt.Axis(labelAngle=-45)
            ),
            y=alt.Y("events:Q", title="events", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("kind:N", scale=colors, title="kind"),
            tooltip=["label", "kind", "events"],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")


def _daily_compliance(summary: dict[str, Any]) -> None:
    _compliance_chart(
        "Compliance by day (%)",
        transforms.daily_compliance_rows(summary),
        alt.X("day:O", title="day (UTC)"),
        "day",
        "No clock was met or breached in this window.",
    )


def _segment_compliance(summary: dict[str, Any]) -> None:
    _compliance_chart(
        "Compliance by priority and tier (%)",
        transforms.compliance_rows(summary),
        alt.X("segment:N", title="priority / tier"),
        "segment",
        "No clock has been met or breached yet.",
    )


def _compliance_chart(title: str, records: list[dict[str, Any]], x: alt.X, field: str, empty: str) -> None:
    """Bars of each clock's compliance along `x` (the records' `field`), on a fixed 0-100 % axis."""
    st.subheader(title)
    rows = pd.DataFrame(records)
    if rows.empty:
        st.info(empty)
        return
    chart = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=x,
            xOffset="clock:N",
            y=alt.Y("compliance:Q", scale=PERCENT, title="compliance (%)"),
            color=alt.Color("clock:N", scale=CLOCK_COLORS),
            tooltip=[field, "clock", "compliance"],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")


def _health() -> None:
    """Say so when a destination was disabled, deliveries died or a config edit was refused; else nothing."""
    destinations = ui.fetch("notifications", api_client.notifications)
    for item in destinations["items"] if destinations else []:
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
    loaded = ui.fetch("config", ui.config_in_force)
    if loaded and loaded["last_error"]:
        st.error(
            f"**The last edit of the SLA config was refused**; version {loaded['version']} stays in force. "
            "[See why](config)",
            icon=":material/report:",
        )


overview()
