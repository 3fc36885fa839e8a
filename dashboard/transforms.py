"""Pure data shaping for the dashboard, tested without Streamlit."""

import csv
import html
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RED, AMBER, GREEN, GREY, BLUE = "#c5221f", "#b06000", "#137333", "#5f6368", "#1967d2"
# Text colour and background of each tone: dark text on a light tint keeps the words readable.
TONES = {
    "red": (RED, "#fce8e6"),
    "amber": (AMBER, "#fef0d9"),
    "green": (GREEN, "#e6f4ea"),
    "grey": (GREY, "#f1f3f4"),
    "blue": (BLUE, "#e8f0fe"),
}
STATE_TONES = {"breached": "red", "at_risk": "amber", "ok": "green"}
STATE_WORDS = {"breached": "breached", "at_risk": "at risk", "ok": "on track"}
EVENT_COLORS = {"alert": "#f29900", "breach": "#d93025"}
EVENT_BACKGROUNDS = {"alert": "#fef0d9", "breach": "#fce8e6"}
SNAPSHOT_FIELDS = ("id", "priority", "customer_tier", "created_at", "updated_at", "status", "first_response_at")
OPEN_STATUSES = ("open", "in_progress", "pending")
STATUSES = (*OPEN_STATUSES, "resolved", "closed")
SLA_STATES = ("ok", "at_risk", "breached")
CLOCKS = ("response", "resolution")
SORTS = ("time left", "priority", "age")


def parse_time(value: str) -> datetime:
    """An API timestamp as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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


def short_time(value: str | None) -> str:
    """An API timestamp as 'YYYY-MM-DD HH:MM:SS' UTC."""
    if not value:
        return "-"
    return parse_time(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def local_time(value: str, timezone: str | None) -> str:
    """An instant as a weekday and time in `timezone` ('Mon 09:00'), in UTC when the zone is unknown."""
    try:
        zone: Any = ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = parse_time(value).astimezone(zone)
    return local.strftime("%a %H:%M") + ("" if timezone else " UTC")


@dataclass(frozen=True)
class Badge:
    """A state in words and in colour, with more detail for hovering."""

    text: str
    tone: str
    hover: str = ""


def badge_html(badge: Badge, css_class: str = "badge") -> str:
    """A badge as a coloured pill whose words carry the meaning on their own."""
    color, background = TONES[badge.tone]
    title = f' title="{html.escape(badge.hover)}"' if badge.hover else ""
    return (
        f'<span class="{css_class} tone-{badge.tone}"{title} style="color:{color};background:{background};'
        f'padding:1px 8px;border-radius:10px;font-weight:600;white-space:nowrap">{html.escape(badge.text)}</span>'
    )


def clock_badge(clock: Mapping[str, Any], *, now: datetime, timezones: Mapping[str, str] | None = None) -> Badge:
    """One clock as '2h 10m left', 'overdue by 3h 20m', 'met', 'paused' or 'outside business hours (...)'."""
    state, remaining = clock["state"], clock["remaining_seconds"]
    due = f"due {short_time(clock['due_at'])} UTC" if clock.get("due_at") else ""
    if state == "met":
        return Badge("met", "grey", f"met with {format_duration(remaining)} to spare")
    if state == "breached":
        still_runs = clock.get("counting") or clock.get("counts_again_at")
        word = "overdue by" if still_runs else "breached by"
        return Badge(f"{word} {format_duration(-remaining)}", "red", due)
    if state == "paused":
        return Badge("paused", "grey", f"{format_duration(remaining)} left when it resumes")
    hover = f"{format_duration(remaining)} left, {due}" if due else ""
    if not clock.get("counting", True) and clock.get("counts_again_at"):
        zone = (timezones or {}).get(clock.get("calendar", ""))
        again = local_time(clock["counts_again_at"], zone)
        return Badge(f"outside business hours (counts again {again})", "blue", hover)
    at_risk = clock.get("alert_at") is not None and parse_time(clock["alert_at"]) <= now
    return Badge(f"{format_duration(remaining)} left", "amber" if at_risk else "green", hover)


def state_badge(state: str) -> Badge:
    """A ticket's SLA state in words and colour."""
    return Badge(STATE_WORDS[state], STATE_TONES[state])


def next_clock(ticket: Mapping[str, Any]) -> str | None:
    """The clock whose deadline comes next among those not met: breached first, then the nearest due."""
    candidates = [
        (clock["state"] != "breached", clock["remaining_seconds"], name)
        for name, clock in ticket["clocks"].items()
        if clock["state"] != "met"
    ]
    return min(candidates)[2] if candidates else None


def ticket_link(ticket_id: str) -> str:
    """Relative URL of a ticket's detail page."""
    return f"ticket?id={quote(ticket_id, safe='')}"


def _link(ticket_id: str) -> str:
    return f'<a href="{ticket_link(ticket_id)}" target="_self">{html.escape(ticket_id)}</a>'


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
        rows.append(
            f'<tr class="event event-{kind}" data-kind="{kind}" style="background:{EVENT_BACKGROUNDS[kind]}">'
            + _cell(kind.upper(), EVENT_COLORS[kind], bold=True)
            + _cell(event["clock"])
            + _cell(_link(event["ticket_id"]))
            + _cell(f"{event['priority']} / {event['customer_tier']}")
            + _cell(short_time(event["due_at"]))
            + _cell(short_time(event["detected_at"]))
            + "</tr>"
        )
    return _table(["kind", "clock", "ticket", "priority / tier", "fell due (UTC)", "detected (UTC)"], rows, "events")


def tickets_table(tickets: list[dict[str, Any]], *, now: datetime, timezones: Mapping[str, str] | None = None) -> str:
    """Tickets as an HTML table: SLA state, the next deadline, and each clock in words and colour."""
    rows = []
    for ticket in tickets:
        state, clocks = ticket["sla_state"], ticket["clocks"]
        badges = {name: clock_badge(clocks[name], now=now, timezones=timezones) for name in CLOCKS}
        upcoming = next_clock(ticket)
        next_cell = f"{upcoming}: {badge_html(badges[upcoming], 'badge next')}" if upcoming else "all met"
        cells = [
            _cell(_link(ticket["id"])),
            _cell(badge_html(state_badge(state))),
            _cell(next_cell),
            _cell(f"{ticket['priority']} / {ticket['customer_tier']}"),
            _cell(ticket["status"].replace("_", " ")),
            _cell(format_duration((now - parse_time(ticket["created_at"])).total_seconds())),
            *(_cell(badge_html(badges[name])) for name in CLOCKS),
        ]
        rows.append(f'<tr class="ticket ticket-{state}" data-id="{html.escape(ticket["id"])}">{"".join(cells)}</tr>')
    headers = ["ticket", "SLA", "next deadline", "priority / tier", "status", "age", "response", "resolution"]
    return _table(headers, rows, "tickets")


def priority_ranks(targets: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, int]:
    """Priorities from most to least urgent: the tighter a priority's tightest response target, the higher."""
    tightest = {priority: min(pair["response"] for pair in tiers.values()) for priority, tiers in targets.items()}
    return {priority: rank for rank, priority in enumerate(sorted(tightest, key=lambda p: (tightest[p], p)))}


def sort_tickets(tickets: list[dict[str, Any]], by: str, ranks: Mapping[str, int]) -> list[dict[str, Any]]:
    """Tickets in the order asked: the API's (time left), most urgent priority first, or oldest first."""
    order = {id(ticket): position for position, ticket in enumerate(tickets)}
    if by == "priority":
        return sorted(tickets, key=lambda t: (ranks.get(t["priority"], len(ranks)), order[id(t)]))
    if by == "age":
        return sorted(tickets, key=lambda t: (parse_time(t["created_at"]), order[id(t)]))
    return list(tickets)


@dataclass(frozen=True)
class Tile:
    """One figure of the overview, in the tone of what it means, linking to the tickets behind it."""

    label: str
    value: str
    tone: str
    link: str
    note: str


def compliance_text(value: float | None) -> str:
    """A compliance ratio as a percentage, or a dash when nothing finished yet."""
    return "-" if value is None else f"{value * 100:.1f} %"


def compliance_tone(value: float | None) -> str:
    """Green from 95 %, amber from 80 %, red below; grey when nothing was decided."""
    if value is None:
        return "grey"
    return "green" if value >= 0.95 else "amber" if value >= 0.8 else "red"


def overview_tiles(summary: Mapping[str, Any]) -> list[Tile]:
    """The overview's tiles: open, at risk, breached and each clock's compliance."""
    states = summary["by_state"]
    tiles = [
        Tile("Open tickets", f"{summary['open_tickets']:,}", "blue", "tickets", f"{states['ok']:,} on track"),
        Tile(
            "At risk",
            f"{states['at_risk']:,}",
            "amber" if states["at_risk"] else "green",
            "tickets?state=at_risk",
            "past the alert threshold" if states["at_risk"] else "none near a deadline",
        ),
        Tile(
            "Breached",
            f"{states['breached']:,}",
            "red" if states["breached"] else "green",
            "tickets?state=breached",
            "open and past a deadline" if states["breached"] else "no open ticket overdue",
        ),
    ]
    for clock in CLOCKS:
        figures = summary["compliance"][clock]
        tiles.append(
            Tile(
                f"{clock.title()} compliance",
                compliance_text(figures["compliance"]),
                compliance_tone(figures["compliance"]),
                "tickets?state=breached&status=all",
                f"{figures['met']:,} met, {figures['breached']:,} breached",
            )
        )
    return tiles


def tiles_html(tiles: list[Tile]) -> str:
    """The tiles as a row of coloured cards, each a link."""
    cards = []
    for tile in tiles:
        color, background = TONES[tile.tone]
        cards.append(
            f'<a class="tile tone-{tile.tone}" href="{tile.link}" target="_self" data-label="{html.escape(tile.label)}"'
            f' style="flex:1;min-width:150px;text-decoration:none;color:{color};background:{background};'
            f'border-left:6px solid {color};border-radius:8px;padding:10px 14px">'
            f'<div style="font-size:14px">{html.escape(tile.label)}</div>'
            f'<div class="tile-value" style="font-size:30px;font-weight:700">{html.escape(tile.value)}</div>'
            f'<div style="font-size:13px">{html.escape(tile.note)}</div></a>'
        )
    return f'<div class="tiles" style="display:flex;gap:12px;flex-wrap:wrap">{"".join(cards)}</div>'


def queue_rows(tickets: list[dict[str, Any]], *, now: datetime, timezones: Mapping[str, str] | None = None) -> str:
    """The next-to-breach queue as an HTML table: each ticket's next clock and its time left."""
    rows = []
    for ticket in tickets:
        name = next_clock(ticket)
        if name is None:
            continue
        badge = clock_badge(ticket["clocks"][name], now=now, timezones=timezones)
        rows.append(
            f'<tr class="queued" data-id="{html.escape(ticket["id"])}">'
            + _cell(_link(ticket["id"]))
            + _cell(f"{ticket['priority']} / {ticket['customer_tier']}")
            + _cell(name)
            + _cell(badge_html(badge))
            + _cell(short_time(ticket["clocks"][name]["due_at"]))
            + "</tr>"
        )
    return _table(["ticket", "priority / tier", "clock", "time left", "due (UTC)"], rows, "queue")


def event_chart_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Alerts and breaches per bucket of the summary's window, by when they fell due, long form for a chart."""
    pattern = "%a %H:00" if summary.get("bucket", "hour") == "hour" else "%b %d"
    rows = []
    for bucket in summary["events_by_due"]:
        label = parse_time(bucket["start"]).astimezone(UTC).strftime(pattern)
        rows.append({"start": bucket["start"], "label": label, "kind": "alert", "events": bucket["alerts"]})
        rows.append({"start": bucket["start"], "label": label, "kind": "breach", "events": bucket["breaches"]})
    return rows


def compliance_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Compliance per priority x tier and clock, in percent."""
    rows = []
    for segment in summary["by_priority_tier"]:
        for clock in CLOCKS:
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


def daily_compliance_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Compliance per UTC day and clock, in percent; days with nothing decided are left out."""
    rows = []
    for day in summary["compliance_by_day"]:
        for clock in CLOCKS:
            value = day[clock]["compliance"]
            if value is not None:
                rows.append({"day": day["day"], "clock": clock, "compliance": round(value * 100, 1)})
    return rows


def segment_rows(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The open tickets of each priority x tier, with column names and percentages as people read them."""
    return [
        {
            "Priority": segment["priority"],
            "Customer tier": segment["customer_tier"],
            "Open": segment["open"],
            "On track": segment["ok"],
            "At risk": segment["at_risk"],
            "Breached": segment["breached"],
            "Response compliance": compliance_text(segment["response_compliance"]),
            "Resolution compliance": compliance_text(segment["resolution_compliance"]),
        }
        for segment in summary["by_priority_tier"]
    ]


def timeline(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    """History (with each snapshot's source) and events of one ticket merged into one list, oldest first."""
    entries: list[dict[str, Any]] = []
    previous: str | None = None
    for snapshot in detail["history"]:
        change = snapshot["status"] if previous is None else f"{previous} -> {snapshot['status']}"
        source = snapshot.get("source") or "unknown"
        entries.append({"at": snapshot["updated_at"], "what": "snapshot", "detail": change, "source": source})
        previous = snapshot["status"]
    for event in detail["events"]:
        detected = f"detected {short_time(event['detected_at'])}" if event.get("detected_at") else ""
        entries.append(
            {"at": event["due_at"], "what": event["kind"], "detail": f"{event['clock']} clock", "source": detected}
        )
    entries.sort(key=lambda entry: (parse_time(entry["at"]), entry["what"]))
    return [{**entry, "at": short_time(entry["at"])} for entry in entries]


def timeline_table(entries: list[dict[str, Any]]) -> str:
    """The timeline as an HTML table: snapshots plain, alerts amber, breaches red."""
    rows = []
    for entry in entries:
        kind = entry["what"]
        style = f' style="background:{EVENT_BACKGROUNDS[kind]}"' if kind in EVENT_BACKGROUNDS else ""
        color = EVENT_COLORS.get(kind)
        rows.append(
            f'<tr class="entry entry-{kind}"{style}>'
            + _cell(entry["at"])
            + _cell(kind.upper() if color else kind, color, bold=bool(color))
            + _cell(html.escape(entry["detail"]))
            + _cell(html.escape(entry["source"]))
            + "</tr>"
        )
    return _table(["when (UTC)", "what", "detail", "source / detected"], rows, "timeline")


def target_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The targets in force, one row per priority x tier, with the calendar each counts in."""
    return [
        {
            "Priority": priority,
            "Customer tier": tier,
            "Response": format_duration(pair["response"]),
            "Resolution": format_duration(pair["resolution"]),
            "Calendar": pair.get("calendar") or document.get("calendar") or "24x7",
        }
        for priority, by_tier in document["targets"].items()
        for tier, pair in by_tier.items()
    ]


def _hours_text(hours: Any) -> str:
    if isinstance(hours, Mapping):
        return "; ".join(
            f"{days} {', '.join(ranges) if isinstance(ranges, list) else ranges}" for days, ranges in hours.items()
        )
    return str(hours)


def calendar_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The calendars in force: time zone, opening hours and holidays."""
    rows = []
    for name, calendar in document.get("calendars", {}).items():
        holidays = calendar.get("holidays") or {}
        country = " ".join(filter(None, [holidays.get("country"), holidays.get("subdivision")]))
        dates = ", ".join(holidays.get("dates") or [])
        rows.append(
            {
                "Calendar": name,
                "Time zone": calendar.get("timezone", ""),
                "Open": _hours_text(calendar.get("hours", "")),
                "Holidays": "; ".join(filter(None, [country and f"public holidays of {country}", dates])) or "none",
            }
        )
    return rows


def calendar_timezones(document: Mapping[str, Any]) -> dict[str, str]:
    """Each calendar's time zone by name, to say when a clock counts again in local time."""
    return {name: calendar.get("timezone", "UTC") for name, calendar in document.get("calendars", {}).items()}


class UploadError(ValueError):
    """An uploaded batch cannot be read."""


@dataclass(frozen=True)
class Upload:
    """The snapshots of an uploaded file and, for each, where it is in the file ('line 7' or 'item 3')."""

    snapshots: list[dict[str, Any]]
    places: list[str]


def _json_starts(text: str) -> list[int]:
    """The offset where each element of a top-level JSON array starts."""
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip())
    if text[position : position + 1] != "[":
        return [position]
    starts: list[int] = []
    position += 1
    while True:
        position += len(text[position:]) - len(text[position:].lstrip(" \t\r\n,"))
        if position >= len(text) or text[position] == "]":
            return starts
        starts.append(position)
        _, position = decoder.raw_decode(text, position)


def _parse_json(name: str, text: str) -> Upload:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UploadError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise UploadError(f"{name} must hold a JSON array of snapshot objects")
    lines = [text.count("\n", 0, start) + 1 for start in _json_starts(text)]
    if len(set(lines)) == len(items):
        return Upload(items, [f"line {line}" for line in lines])
    # Several elements share a line (a one-line file): their position in the array names them instead.
    return Upload(items, [f"item {number}" for number in range(1, len(items) + 1)])


def _parse_csv(name: str, text: str) -> Upload:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise UploadError(f"{name} needs a header row naming at least: {', '.join(SNAPSHOT_FIELDS[:-1])}")
    snapshots, places = [], []
    first_line = reader.line_num + 1
    for row in reader:
        snapshots.append({key: value for key, value in row.items() if key and value not in ("", None)})
        places.append(f"line {first_line}")
        first_line = reader.line_num + 1
    return Upload(snapshots, places)


def parse_upload(name: str, content: bytes) -> Upload:
    """Snapshots from a JSON (array or object) or CSV file with a header row, each with its place in the file.

    CSV rows are named by the file's line numbers (the header is line 1). JSON elements are named by
    the line where each starts; when several start on one line, by their position ("item 3", from 1).
    """
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(f"{name} is not UTF-8 text") from exc
    if name.lower().endswith(".json"):
        return _parse_json(name, text)
    if name.lower().endswith(".csv"):
        return _parse_csv(name, text)
    raise UploadError(f"{name}: upload a .json or .csv file")


FIELD_LABELS = {
    "id": "Ticket id",
    "priority": "Priority",
    "customer_tier": "Customer tier",
    "status": "Status",
    "created_at": "Created at",
    "updated_at": "Updated at",
    "first_response_at": "First response at",
}
_TIMESTAMP_EXAMPLE = "2026-11-27T09:30:00Z"


def _friendly_time(field: str, message: str) -> str | None:
    if "must not be before created_at" in message:
        return f"{FIELD_LABELS[field]} cannot be earlier than Created at."
    if "offset" in message:
        return f"Add a time zone, for example {_TIMESTAMP_EXAMPLE} (Z is UTC) or +02:00 at the end."
    if "between" in message or "range" in message:
        return "Pick a date between 1970 and 2200."
    if "timestamp" in message or "date" in message:
        return f"Write a date and time such as {_TIMESTAMP_EXAMPLE}."
    return None


def friendly_message(field: str, problem: Mapping[str, Any]) -> str:
    """A validation problem of one snapshot field, in the form's words rather than the API's."""
    message, kind = str(problem.get("msg", "")), str(problem.get("type", ""))
    label = FIELD_LABELS.get(field, field.replace("_", " ").capitalize() or "This snapshot")
    if kind == "missing":
        return f"{label} is required."
    if field == "id":
        if kind in ("string_too_short", "missing"):
            return "Enter a ticket id."
        if kind == "string_too_long":
            return "A ticket id has at most 200 characters."
        return "A ticket id cannot contain control characters." if "control" in message else f"{label}: {message}."
    if field in ("created_at", "updated_at", "first_response_at"):
        return _friendly_time(field, message) or f"{label}: {message}."
    if field in ("priority", "customer_tier") and message.startswith("unknown"):
        allowed = message.split("names ", 1)[-1]
        return f"Pick one of {allowed}; the SLA config may have changed meanwhile."
    if field == "status":
        return f"Pick one of {', '.join(STATUSES)}."
    if kind == "extra_forbidden":
        return f"{label} is not a snapshot field (the fields are {', '.join(SNAPSHOT_FIELDS)})."
    return message[:1].upper() + message[1:]


def _field_of(problem: Mapping[str, Any]) -> str:
    location = [part for part in problem.get("loc", []) if isinstance(part, str) and part != "body"]
    return location[-1] if location else ""


def field_errors(detail: Any) -> dict[str, list[str]]:
    """A 422's problems by field name, in the form's words, for showing them under the form's fields."""
    errors: dict[str, list[str]] = {}
    if isinstance(detail, list):
        for problem in detail:
            field = _field_of(problem)
            errors.setdefault(field, []).append(friendly_message(field, problem))
    else:
        errors[""] = [_sentence(str(detail))]
    return errors


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def upload_problems(detail: Any, places: list[str]) -> list[dict[str, str]]:
    """A 422 of an uploaded batch as rows naming the file's line (or item), the field and the problem."""
    if not isinstance(detail, list):
        return [{"where": "the file", "field": "", "problem": _sentence(str(detail))}]
    rows = []
    for problem in detail:
        index = next((part for part in problem.get("loc", []) if isinstance(part, int)), None)
        field = _field_of(problem)
        where = places[index] if index is not None and 0 <= index < len(places) else "the file"
        rows.append(
            {"where": where, "field": FIELD_LABELS.get(field, field), "problem": friendly_message(field, problem)}
        )
    return rows


def outcome_rows(results: list[Mapping[str, Any]], places: list[str]) -> list[dict[str, str]]:
    """The API's outcome of each snapshot beside its place in the file."""
    return [
        {"where": places[index] if index < len(places) else "", "ticket": result["id"], "outcome": result["outcome"]}
        for index, result in enumerate(results)
    ]


_QUERY_LISTS = {"state": SLA_STATES, "status": STATUSES}


def query_choice(value: str | None, allowed: Iterable[str]) -> list[str]:
    """The known values of a comma-separated query parameter; 'all' means every value."""
    options = list(allowed)
    if not value:
        return []
    if value == "all":
        return options
    return [part for part in re.split(r"[,\s]+", value) if part in options]
