"""The Streamlit dashboard of the SLA monitor; it reads only through the API."""
