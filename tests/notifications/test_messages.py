"""What each kind of receiver gets: a Slack message a person reads at a glance, and Apprise notes."""

import json
from datetime import UTC, datetime, timedelta

from api.notifications import messages
from api.notifications.messages import EventToSend
from tests.notifications.conftest import AppFactory, destination, overdue_tickets, record
from tests.receiver import Receiver

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def event(kind: str = "breach", **fields: object) -> EventToSend:
    values: dict[str, object] = {
        "delivery_id": 7,
        "attempts": 1,
        "event_id": 42,
        "ticket_id": "ZD 1/2",
        "clock": "resolution",
        "kind": kind,
        "due_at": NOW - timedelta(hours=3, minutes=20),
        "detected_at": NOW - timedelta(hours=3, minutes=20),
        "target_seconds": 10_800,
        "priority": "high",
        "customer_tier": "gold",
        "config_version": 3,
        "ticket_status": "in_progress",
        "breach_at": NOW + timedelta(minutes=25),
    }
    values.update(fields)
    return EventToSend(**values)  # type: ignore[arg-type]


def test_a_slack_breach_names_ticket_clock_lateness_and_links_to_the_ticket_page() -> None:
    body = json.loads(messages.slack_body(event(), NOW, "https://sla.example.com/"))

    assert body["text"] == "SLA breach: ticket ZD 1/2 (high / gold), resolution clock overdue by 3h 20m"
    words = json.dumps(body["blocks"])
    assert "<https://sla.example.com/ticket?id=ZD%201%2F2|ZD 1/2>" in words
    assert ":red_circle:" in words


def test_a_slack_alert_says_how_close_the_breach_is() -> None:
    body = json.loads(messages.slack_body(event("alert"), NOW, None))

    assert body["text"] == "SLA alert: ticket ZD 1/2 (high / gold), resolution clock 25m left"
    assert "ticket?id=" not in json.dumps(body)


def test_an_alert_whose_clock_paused_says_so() -> None:
    assert messages.how_late(event("alert", breach_at=None), NOW) == "its clock is paused or stopped"


def test_the_webhook_id_is_the_same_for_every_attempt_of_one_delivery() -> None:
    assert event(attempts=1).webhook_id == event(attempts=5).webhook_id == "msg_sla_delivery_7"


def test_an_apprise_destination_reaches_its_service(notifying_app: AppFactory, receiver: Receiver) -> None:
    url = f"json://127.0.0.1:{receiver.port}/apprise"
    client = notifying_app(destination("mail", url, format="apprise", kinds="[breach]"))
    overdue_tickets(client, "ZD-1")
    record(client)

    (request,) = receiver.wait_for(1, "/apprise")
    note = json.loads(request.body)
    assert note["title"] == "SLA breach: ZD-1"
    assert note["message"].startswith("SLA breach: ticket ZD-1 (high / gold), response clock overdue by")
