"""The sidebar: a form that creates or updates a ticket, and the upload of a JSON or CSV batch."""

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import api_client, transforms, ui

STATUSES = list(transforms.STATUSES)


def _now_text(*, precise: bool = False) -> str:
    now = datetime.now(UTC)
    return (now if precise else now.replace(microsecond=0)).isoformat().replace("+00:00", "Z")


def render() -> None:
    """Draw the sidebar."""
    with st.sidebar:
        _ticket_form()
        st.divider()
        _upload()


def _ticket_form() -> None:
    st.subheader("Create or update a ticket")
    choices = ui.fetch("choices", ui.config_choices)
    if choices is None:
        st.caption("The form appears once the API answers.")
        return
    priorities, tiers = choices
    slots: dict[str, Any] = {}
    with st.form("ticket_form", clear_on_submit=False):
        values: dict[str, Any] = {}
        values["id"] = st.text_input("Ticket id", key="form_id", placeholder="ZD-1001")
        slots["id"] = st.empty()
        values["priority"] = st.selectbox("Priority", priorities, key="form_priority")
        slots["priority"] = st.empty()
        values["customer_tier"] = st.selectbox("Customer tier", tiers, key="form_tier")
        slots["customer_tier"] = st.empty()
        values["status"] = st.selectbox("Status", STATUSES, key="form_status")
        slots["status"] = st.empty()
        values["created_at"] = st.text_input("Created at (RFC 3339)", value=_now_text(), key="form_created")
        slots["created_at"] = st.empty()
        values["updated_at"] = st.text_input("Updated at (empty: now)", key="form_updated")
        slots["updated_at"] = st.empty()
        values["first_response_at"] = st.text_input("First response at (optional)", key="form_first_response")
        slots["first_response_at"] = st.empty()
        submitted = st.form_submit_button("Send snapshot", type="primary")
    if not submitted:
        return
    snapshot = {key: value.strip() if isinstance(value, str) else value for key, value in values.items()}
    snapshot["updated_at"] = snapshot["updated_at"] or _now_text(precise=True)
    if not snapshot["first_response_at"]:
        del snapshot["first_response_at"]
    try:
        result = api_client.send_snapshots([snapshot])
    except api_client.ApiUnavailable as exc:
        st.error(f"Not sent: {exc}")
        return
    except api_client.ApiRejected as exc:
        for field, messages in transforms.field_errors(exc.detail).items():
            target = slots.get(field)
            text = " ".join(messages)
            if target is not None:
                target.error(text, icon=":material/error:")
            else:
                st.error(f"Not sent: {text}")
        return
    outcome = result["results"][0]["outcome"]
    st.success(f"{snapshot['id']}: {outcome}", icon=":material/check_circle:")


def _upload() -> None:
    st.subheader("Upload a batch")
    uploaded = st.file_uploader("JSON array or CSV with a header row", type=["json", "csv"], key="batch_file")
    st.caption("Problems are named by the file's line numbers (a CSV's header is line 1).")
    if uploaded is None:
        return
    try:
        upload = transforms.parse_upload(uploaded.name, uploaded.getvalue())
    except transforms.UploadError as exc:
        st.error(str(exc))
        return
    count = len(upload.snapshots)
    st.caption(f"{count:,} snapshots; the first ones:")
    preview = pd.DataFrame(
        [{"where": place, **row} for place, row in zip(upload.places[:20], upload.snapshots[:20], strict=True)]
    )
    st.dataframe(preview, hide_index=True)
    if not st.button(f"Send {count:,} snapshots", key="send_batch", type="primary"):
        return
    try:
        result = api_client.send_snapshots(upload.snapshots)
    except api_client.ApiUnavailable as exc:
        st.error(f"Not sent: {exc}.")
        return
    except api_client.ApiRejected as exc:
        problems = transforms.upload_problems(exc.detail, upload.places)
        first = "; ".join(f"{p['where']}, {p['field'] or 'snapshot'}: {p['problem']}" for p in problems[:3])
        st.error(f"Nothing was written; fix the file and send it again. {first}", icon=":material/error:")
        st.table(pd.DataFrame(problems))
        return
    counts = {key: result[key] for key in ("created", "updated", "unchanged", "stale", "conflict")}
    st.success(", ".join(f"{count} {name}" for name, count in counts.items()))
    st.dataframe(pd.DataFrame(transforms.outcome_rows(result["results"], upload.places)), hide_index=True)
