"""What a receiver gets for one event: a Standard Webhooks POST, a Slack message, or an Apprise note."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson
from standardwebhooks import Webhook

from api.kit.timestamps import rfc3339


@dataclass(frozen=True, slots=True)
class EventToSend:
    """A claimed delivery with the event it carries and the ticket as it stands now."""

    delivery_id: int
    attempts: int
    event_id: int
    ticket_id: str
    clock: str
    kind: str
    due_at: datetime
    detected_at: datetime
    target_seconds: int
    priority: str
    customer_tier: str
    config_version: int
    ticket_status: str
    breach_at: datetime | None

    @property
    def webhook_id(self) -> str:
        """The same on every attempt of this (event, destination), so a receiver can drop repeats."""
        return f"msg_sla_delivery_{self.delivery_id}"

    def event(self) -> dict[str, Any]:
        """The event as GET /alerts shows it."""
        return {
            "id": self.event_id,
            "ticket_id": self.ticket_id,
            "clock": self.clock,
            "kind": self.kind,
            "due_at": rfc3339(self.due_at),
            "detected_at": rfc3339(self.detected_at),
            "target_seconds": self.target_seconds,
            "priority": self.priority,
            "customer_tier": self.customer_tier,
            "config_version": self.config_version,
        }


def webhook_body(item: EventToSend) -> bytes:
    """The JSON body of a webhook: the event type, when it was detected, the event and its ticket."""
    ticket = {
        "id": item.ticket_id,
        "priority": item.priority,
        "customer_tier": item.customer_tier,
        "status": item.ticket_status,
    }
    document = {
        "type": f"sla.{item.kind}",
        "timestamp": rfc3339(item.detected_at),
        "data": {**item.event(), "ticket": ticket},
    }
    return orjson.dumps(document)


def webhook_headers(item: EventToSend, body: bytes, secret: str | None, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers; signed with the destination's secret when it has one."""
    headers = {
        "content-type": "application/json",
        "webhook-id": item.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
    }
    if secret:
        headers["webhook-signature"] = Webhook(secret).sign(item.webhook_id, now, body.decode())
    return headers


def _words(seconds: float) -> str:
    """A duration as a person says it: '3h 20m', '12m', '45s'."""
    whole = int(abs(seconds))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def how_late(item: EventToSend, now: datetime) -> str:
    """How late a breach is, or how close an alert's breach is, as of `now`."""
    if item.kind == "breach":
        return f"overdue by {_words((now - item.due_at).total_seconds())}"
    if item.breach_at is None:
        return "its clock is paused or stopped"
    left = (item.breach_at - now).total_seconds()
    return f"{_words(left)} left" if left > 0 else f"overdue by {_words(left)}"


def ticket_link(item: EventToSend, dashboard_url: str | None) -> str | None:
    """The ticket's page on the dashboard, when the dashboard's address is known."""
    if not dashboard_url:
        return None
    return f"{dashboard_url.rstrip('/')}/ticket?id={quote(item.ticket_id, safe='')}"


def headline(item: EventToSend, now: datetime) -> str:
    """One line that says it all: kind, ticket, segment, clock, and how late or close."""
    label = "SLA breach" if item.kind == "breach" else "SLA alert"
    return (
        f"{label}: ticket {item.ticket_id} ({item.priority} / {item.customer_tier}), "
        f"{item.clock} clock {how_late(item, now)}"
    )


def slack_body(item: EventToSend, now: datetime, dashboard_url: str | None) -> bytes:
    """A Slack incoming-webhook message: a text fallback and blocks a person reads at a glance."""
    marker = ":red_circle:" if item.kind == "breach" else ":large_orange_circle:"
    link = ticket_link(item, dashboard_url)
    ticket = f"<{link}|{item.ticket_id}>" if link else item.ticket_id
    fields = [
        f"*Ticket*\n{ticket}",
        f"*Priority / tier*\n{item.priority} / {item.customer_tier}",
        f"*Clock*\n{item.clock}",
        f"*{'Breached' if item.kind == 'breach' else 'Alert'}*\n{how_late(item, now)}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{marker} *{headline(item, now)}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in fields]},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"fell due {rfc3339(item.due_at)}, status {item.ticket_status}"}],
        },
    ]
    return orjson.dumps({"text": headline(item, now), "blocks": blocks})


def apprise_message(item: EventToSend, now: datetime, dashboard_url: str | None) -> tuple[str, str]:
    """Title and body of an Apprise notification."""
    link = ticket_link(item, dashboard_url)
    body = headline(item, now) + f"\nFell due {rfc3339(item.due_at)}; ticket status {item.ticket_status}."
    return f"{'SLA breach' if item.kind == 'breach' else 'SLA alert'}: {item.ticket_id}", (
        f"{body}\n{link}" if link else body
    )
