"""The SLA config in force: targets, calendars, version, a refused reload, and a preview of a candidate."""

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import api_client, transforms, ui

PREVIEW_FIGURES = {
    "deadlines_moved": "deadlines moved",
    "newly_at_risk": "newly at risk",
    "newly_breached": "newly breached",
    "no_longer_breached": "no longer breached",
}

st.title("SLA config")


@st.fragment(run_every=ui.REFRESH_SECONDS)
def config() -> None:
    loaded = ui.fetch("config", api_client.config)
    if loaded is None:
        return
    error = loaded["last_error"]
    if error:
        st.error(
            f"**The last edit of {loaded['path']} was refused** ({transforms.short_time(error['at'])} UTC); "
            f"version {loaded['version']} stays in force.\n\n{error['message']}",
            icon=":material/report:",
        )
    document = loaded["config"]
    st.markdown(
        f"Version **{loaded['version']}**, loaded {transforms.short_time(loaded['loaded_at'])} UTC from "
        f"`{loaded['path']}` · alert when {document['alert_threshold'] * 100:g} % of a target is left · "
        f"resolution pauses on: {', '.join(document['pause_statuses']) or 'nothing'} · default calendar "
        f"`{document.get('calendar') or '24x7'}`"
    )
    st.subheader("Targets")
    st.dataframe(pd.DataFrame(transforms.target_rows(document)), hide_index=True)
    st.subheader("Calendars")
    calendars = transforms.calendar_rows(document)
    if calendars:
        st.dataframe(pd.DataFrame(calendars), hide_index=True)
    else:
        st.caption("None defined: every clock counts around the clock (24x7).")


def _show_preview(result: dict[str, Any]) -> None:
    figures = st.columns(len(PREVIEW_FIGURES) + 1)
    figures[0].metric("open tickets", f"{result['open_tickets']:,}")
    for column, (name, label) in zip(figures[1:], PREVIEW_FIGURES.items(), strict=True):
        column.metric(label, f"{result[name]:,}")
    if result["by_priority_tier"]:
        rows = [
            {"Priority": s["priority"], "Customer tier": s["customer_tier"], "Open": s["open_tickets"]}
            | {label.capitalize(): s[name] for name, label in PREVIEW_FIGURES.items()}
            for s in result["by_priority_tier"]
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)


def preview() -> None:
    st.subheader("Preview a change")
    st.caption("Paste a candidate sla_config.yaml: see what it would do to the open tickets. Nothing is applied.")
    with st.form("preview_form"):
        candidate = st.text_area("Candidate sla_config.yaml", height=220, key="preview_yaml")
        asked = st.form_submit_button("Preview")
    if not asked:
        return
    if not candidate.strip():
        st.warning("Paste a config first.")
        return
    try:
        result = api_client.preview_config(candidate)
    except api_client.ApiUnavailable as exc:
        st.error(f"Not previewed: {exc}.")
        return
    except api_client.ApiRejected as exc:
        if exc.status == 422:
            messages = [p.get("msg", "") for p in exc.detail] if isinstance(exc.detail, list) else [str(exc.detail)]
            st.error("A reload would refuse this config:\n\n" + "\n\n".join(messages), icon=":material/report:")
        elif exc.status in (401, 403):
            st.error("Previewing needs an admin key: the dashboard's key (SLA_API_KEY) lacks the admin scope.")
        else:
            st.error(f"Not previewed ({exc.status} {exc.error}): {exc.detail}")
        return
    st.success("A reload would accept this config. If saved now:", icon=":material/check_circle:")
    _show_preview(result)


config()
preview()
