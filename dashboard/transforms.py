"""Pure data shaping for the dashboard, tested without Streamlit."""

import csv
import html
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

CLOCK_COLORS = {
    "breached": "#d93025",
    "at_risk": "#f29900",
    "running": "#188038",
    "paused": "#80868b",
    "met": "#80868b",
}
STATE_COLORS = {"breached": "#d93025", "at_risk": "#f29900", "ok": "#188038"}
EVENT_COLORS = {"alert": "#f29900", "breach": "#d93025"}
EVENT_BACKGROUNDS = {"alert": "#fef0d9", "breach": "#fce8e6"}
SNAPSHOT_FIELDS = ("id", "priority", "customer_tier", "created_at", "updated_at", "status", "first_response_at")


def format_duration(seconds: float) -> str:
    """Seconds as '2h 05m', '-12m 30s' (overdue) or '45s'."""
    sign = "-" if seconds < 0 else ""
    remaining = int(abs(seconds))
    days, remaining = divmod(remaining, 86_400)
    hours, remaining = divmod(remaining, 3_600)
    minutes, secs = divmod(remaining, 60)
    if days:
        return f"{sign}{days}d {hours:02}h"
    if hours:
        return f"{sign}{hours}h {minutes:02}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02}s"
    return f"{sign}{secs}s"


def clock_color(clock: dict[str, Any]) -> str:
    """Green while running with time left, amber past the alert, red breached, grey when met or paused."""
    state = clock["state"]
    if state == "running" and clock["target_seconds"] and clock.get("alert_at"):
        alert_at = datetime.fromisoformat(clock["alert_at"])
        if alert_at <= datetime.now(UTC):
            return CLOCK_COLORS["at_risk"]
    return CLOCK_COLORS[state]


def compliance_text(value: float | None) -> str:
    """A compliance ratio as a percentage, or a dash when nothing finished yet."""
    return "-" if value is None else f"{value * 100:.1f} %"


def ticket_link(ticket_id: str) -> str:
    """Relative URL of a ticket's detail page."""
    return f"ticket?id={quote(ticket_id, safe='')}"


def _cell(text: str, color: str | None = None, *, bold: bool = False) -> str:
    style = f"color:{color};" if color else ""
    style += "font-weight:600;" if bold else ""
    return f'<td style="padding:4px 10px;{style}">{text}</td>'


def _table(headers: Iterable[str], rows: list[str], css_class: str) -> str:
    head = "".join(f'<th style="text-align:left;padding:4px 10px">{html.escape(h)}</th>' for h in headers)
    return (
        f'<table class="{css_class}" style="border-collapse:collapse;width:100%;font-size:14px">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def events_table(events: list[dict[str, Any]]) -> str:
    """Events as an HTML table: amber rows for alerts, red rows for breaches, each linking to its ticket."""
    rows = []
    for event in events:
        kind = event["kind"]
        link = f'<a href="{ticket_link(event["ticket_id"])}" target="_self">{html.escape(event["ticket_id"])}</a>'
        rows.append(
            f'<tr class="event event-{kind}" data-kind="{kind}" style="background:{EVENT_BACKGROUNDS[kind]}">'
            + _cell(kind.upper(), EVENT_COLORS[kind], bold=True)
            + _cell(event["clock"])
            + _cell(link)
            + _cell(f"{event['priority']} / {event['customer_tier']}")
            + _cell(short_time(event["due_at"]))
            + _cell(short_time(event["detected_at"]))
            + "</tr>"
        )
    return _table(["kind", "clock", "ticket", "priority / tier", "due", "detected"], rows, "events")


def tickets_table(tickets: list[dict[str, Any]]) -> str:
    """Tickets as an HTML table with each clock's remaining time in its color."""
    rows = []
    for ticket in tickets:
        state = ticket["sla_state"]
        clocks = ticket["clocks"]
        link = f'<a href="{ticket_link(ticket["id"])}" target="_self">{html.escape(ticket["id"])}</a>'
        cells = [
            _cell(link),
            _cell(state.replace("_", " "), STATE_COLORS[state], bold=True),
            _cell(ticket["status"].replace("_", " ")),
            _cell(f"{ticket['priority']} / {ticket['customer_tier']}"),
        ]
        for name in ("response", "resolution"):
            clock = clocks[name]
            text = format_duration(clock["remaining_seconds"])
            if clock["state"] in {"met", "paused"}:
                text = f"{clock['state']} ({text} left)"
            cells.append(_cell(text, clock_color(clock), bold=True))
        rows.append(f'<tr class="ticket ticket-{state}" data-id="{html.escape(ticket["id"])}">{"".join(cells)}</tr>')
    return _table(["ticket", "SLA", "status", "priority / tier", "response left", "resolution left"], rows, "tickets")


def short_time(value: str | None) -> str:
    """An API timestamp as 'YYYY-MM-DD HH:MM:SS' UTC."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def timeline(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """History and events of one ticket merged into one list, oldest first."""
    entries: list[dict[str, Any]] = []
    previous: str | None = None
    for snapshot in detail["history"]:
        change = snapshot["status"] if previous is None else f"{previous} -> {snapshot['status']}"
        entries.append({"at": snapshot["updated_at"], "what": "snapshot", "detail": change})
        previous = snapshot["status"]
    for event in detail["events"]:
        entries.append({"at": event["due_at"], "what": event["kind"], "detail": f"{event['clock']} clock"})
    entries.sort(key=lambda entry: (entry["at"], entry["what"]))
    return [{**entry, "at": short_time(entry["at"])} for entry in entries]


def event_chart_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Alerts and breaches per bucket of the summary's window, by when they fell due, long form for a chart."""
    rows = []
    for bucket in summary["events_by_due"]:
        rows.append({"start": bucket["start"], "kind": "alert", "events": bucket["alerts"]})
        rows.append({"start": bucket["start"], "kind": "breach", "events": bucket["breaches"]})
    return rows


def compliance_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Compliance per priority x tier and clock, in percent."""
    rows = []
    for segment in summary["by_priority_tier"]:
        for clock in ("response", "resolution"):
            value = segment[f"{clock}_compliance"]
            if value is not None:
                rows.append(
                    {
                        "segment": f"{segment['priority']} / {segment['customer_tier']}",
                        "clock": clock,
                        "compliance": round(value * 100, 1),
                    }
                )
    return rows


class UploadError(ValueError):
    """An uploaded batch cannot be read."""


def parse_upload(name: str, content: bytes) -> list[dict[str, Any]]:
    """Snapshots from an uploaded JSON (array or object) or CSV file with a header row."""
    text = content.decode("utf-8-sig")
    if name.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UploadError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise UploadError(f"{name} must hold a JSON array of snapshot objects")
        return data
    if name.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise UploadError(f"{name} needs a header row naming at least: {', '.join(SNAPSHOT_FIELDS[:-1])}")
        return [{key: value for key, value in row.items() if key and value not in ("", None)} for row in reader]
    raise UploadError(f"{name}: upload a .json or .csv file")


def field_errors(detail: Any) -> dict[str, list[str]]:
    """A 422's problems by field name, for showing them next to the form's fields."""
    errors: dict[str, list[str]] = {}
    if isinstance(detail, list):
        for problem in detail:
            location = [part for part in problem.get("loc", []) if isinstance(part, str) and part != "body"]
            errors.setdefault(location[-1] if location else "", []).append(problem.get("msg", ""))
    else:
        errors[""] = [str(detail)]
    return errors
