"""The SLA monitor dashboard, started by `python -m dashboard`; the API is at SLA_API_URL."""

import sys
from pathlib import Path

# Streamlit puts this file's folder on sys.path; the pages import the `dashboard` package by name.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st

from dashboard import sidebar, signin, ui

PAGES = Path(__file__).resolve().parent / "app_pages"
# A local file: an emoji or Material icon as favicon is fetched from a CDN, which fails offline.
FAVICON = str(Path(__file__).resolve().parent / "favicon.png")

st.set_page_config(page_title="SLA monitor", page_icon=FAVICON, layout="wide")
# Before st.navigation, so that no page runs for someone turned away and every page shows the notice.
signin.require_allowed_user()
page = st.navigation(
    [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(PAGES / "alerts.py", title="Alerts and breaches", icon=":material/notifications:", url_path="alerts"),
        st.Page(PAGES / "tickets.py", title="Tickets", icon=":material/list:", url_path="tickets"),
        st.Page(PAGES / "ticket.py", title="Ticket detail", icon=":material/timeline:", url_path="ticket"),
        st.Page(PAGES / "config.py", title="SLA config", icon=":material/tune:", url_path="config"),
    ]
)
sidebar.render()
ui.api_status()
page.run()
