"""The SLA config in force, its version and a failed reload, if any."""

import pandas as pd
import streamlit as st

from dashboard import api_client, transforms, ui

st.title("SLA config")


@st.fragment(run_every=ui.REFRESH_SECONDS)
def config() -> None:
    loaded = ui.fetch(api_client.config)
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
        f"resolution pauses on: {', '.join(document['pause_statuses']) or 'nothing'}"
    )
    rows = [
        {
            "priority": priority,
            "customer tier": tier,
            "response": transforms.format_duration(pair["response"]),
            "resolution": transforms.format_duration(pair["resolution"]),
        }
        for priority, by_tier in document["targets"].items()
        for tier, pair in by_tier.items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


config()
