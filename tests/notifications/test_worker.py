"""Deliveries to a real local receiver: signed, once each, retried on schedule, held by 410, dead at the end."""

import json
import logging
import time

import pytest
from standardwebhooks import Webhook

from tests.notifications.conftest import SECRET, AppFactory, destination, overdue_tickets, record
from tests.receiver import Receiver, Reply


def deliveries(client: object, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = client.get("/notifications/deliveries", params=params).json()["items"]  # type: ignore[attr-defined]
    return items


def wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_a_webhook_is_signed_as_standard_webhooks_says_and_verifies_with_its_library(
    notifying_app: AppFactory, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLA_ONCALL_SECRET", SECRET)
    client = notifying_app(destination("oncall", receiver.url(), secret_env="SLA_ONCALL_SECRET", kinds="[breach]"))
    overdue_tickets(client, "ZD-1")
    assert record(client) == 2

    (request,) = receiver.wait_for(1)
    payload = Webhook(SECRET).verify(request.body, request.headers)
    assert payload["type"] == "sla.breach"
    assert payload["data"]["ticket_id"] == "ZD-1"
    assert payload["data"]["clock"] == "response"
    assert payload["data"]["ticket"] == {"id": "ZD-1", "priority": "high", "customer_tier": "gold", "status": "open"}
    assert payload["timestamp"] == payload["data"]["detected_at"]
    assert request.headers["webhook-signature"].startswith("v1,")
    wait_until(lambda: deliveries(client)[0]["status"] == "delivered")


def test_each_event_reaches_each_destination_once_when_the_receiver_answers_2xx(
    notifying_app: AppFactory, receiver: Receiver
) -> None:
    client = notifying_app(destination("a", receiver.url("/a")) + destination("b", receiver.url("/b")))
    overdue_tickets(client, *(f"ZD-{n}" for n in range(20)))
    assert record(client) == 40

    receiver.wait_for(40, "/a")
    receiver.wait_for(40, "/b")
    time.sleep(0.5)
    for path in ("/a", "/b"):
        ids = [request.headers["webhook-id"] for request in receiver.received(path)]
        assert len(ids) == len(set(ids)) == 40
    wait_until(lambda: {item["status"] for item in deliveries(client, limit=500)} == {"delivered"})
    assert len(deliveries(client, limit=500)) == 80


@pytest.mark.parametrize("failure", [Reply(500), Reply(503), Reply(200, delay=3.0)], ids=["500", "503", "timeout"])
def test_a_failed_attempt_is_retried_with_the_same_webhook_id(
    notifying_app: AppFactory, receiver: Receiver, failure: Reply
) -> None:
    receiver.script("/hook", failure, Reply(200))
    client = notifying_app(destination("oncall", receiver.url(), kinds="[breach]", retries="[1s]"))
    overdue_tickets(client, "ZD-1")
    record(client)

    wait_until(lambda: deliveries(client)[0]["status"] == "delivered", timeout=15)
    first, second = receiver.arrivals()
    assert first == second
    (delivery,) = deliveries(client)
    assert delivery["attempts"] == 2
    assert delivery["last_status_code"] == 200


def test_retry_after_is_honoured(notifying_app: AppFactory, receiver: Receiver) -> None:
    receiver.script("/hook", Reply(429, headers={"retry-after": "3"}), Reply(200))
    client = notifying_app(destination("oncall", receiver.url(), kinds="[breach]", retries="[1s]"))
    overdue_tickets(client, "ZD-1")
    record(client)

    first, second = receiver.wait_for(2, timeout=15)
    assert second.at - first.answered_at >= 2.9


def test_410_gone_disables_the_destination_until_it_is_enabled_again(
    notifying_app: AppFactory, receiver: Receiver
) -> None:
    receiver.script("/hook", Reply(410))
    client = notifying_app(destination("oncall", receiver.url(), kinds="[breach]", retries="[1s]"))
    overdue_tickets(client, "ZD-1", "ZD-2")
    record(client)

    wait_until(lambda: client.get("/notifications").json()["items"][0]["state"] == "disabled")
    seen = len(receiver.wait_for(1))
    time.sleep(2.5)
    assert len(receiver.received()) == seen <= 2
    assert client.get("/notifications").json()["items"][0]["pending"] == 2

    receiver.script("/hook", Reply(200))
    assert client.post("/notifications/oncall/enable").status_code == 200
    receiver.wait_for(seen + 2)
    wait_until(lambda: client.get("/notifications").json()["items"][0]["delivered"] == 2)
    assert client.get("/notifications").json()["items"][0]["state"] == "active"


def test_a_delivery_is_dead_after_its_schedule_and_delivered_after_a_retry_request(
    notifying_app: AppFactory, receiver: Receiver
) -> None:
    receiver.script("/hook", Reply(500))
    client = notifying_app(destination("oncall", receiver.url(), kinds="[breach]", retries="[1s, 1s]"))
    overdue_tickets(client, "ZD-1")
    record(client)

    receiver.wait_for(3, timeout=15)
    wait_until(lambda: deliveries(client)[0]["status"] == "dead")
    time.sleep(1.5)
    assert len(receiver.received()) == 3
    (dead,) = deliveries(client, status="dead")
    assert (dead["attempts"], dead["last_status_code"]) == (3, 500)

    receiver.script("/hook", Reply(200))
    retried = client.post(f"/notifications/deliveries/{dead['id']}/retry")
    assert retried.status_code == 200
    receiver.wait_for(4)
    wait_until(lambda: deliveries(client)[0]["status"] == "delivered")
    assert client.post(f"/notifications/deliveries/{dead['id']}/retry").status_code == 409
    assert client.post("/notifications/deliveries/999999/retry").status_code == 404


def test_filters_pick_events_by_kind_clock_priority_and_tier(notifying_app: AppFactory, receiver: Receiver) -> None:
    section = (
        destination("breaches", receiver.url("/breaches"), kinds="[breach]")
        + destination("response-alerts", receiver.url("/alerts"), kinds="[alert]", clocks="[response]")
        + destination("high-gold", receiver.url("/high-gold"), priorities="[high]", tiers="[gold]")
        + destination("low", receiver.url("/low"), priorities="[low]")
    )
    client = notifying_app(section)
    overdue_tickets(client, "HG-1")
    overdue_tickets(client, "LS-1", priority="low", customer_tier="silver", hours=3)
    record(client)

    def kinds(path: str) -> list[tuple[str, str, str]]:
        return sorted(
            (body["data"]["ticket_id"], body["data"]["clock"], body["data"]["kind"])
            for body in (json.loads(request.body) for request in receiver.received(path))
        )

    wait_until(lambda: len(receiver.received()) == 8)
    assert kinds("/breaches") == [("HG-1", "response", "breach"), ("LS-1", "response", "breach")]
    assert kinds("/alerts") == [("HG-1", "response", "alert"), ("LS-1", "response", "alert")]
    assert kinds("/high-gold") == [("HG-1", "response", "alert"), ("HG-1", "response", "breach")]
    assert kinds("/low") == [("LS-1", "response", "alert"), ("LS-1", "response", "breach")]


def test_a_destinations_filters_apply_to_events_recorded_after_the_config_that_set_them(
    notifying_app: AppFactory, receiver: Receiver
) -> None:
    client = notifying_app(destination("oncall", receiver.url(), kinds="[breach]"))
    overdue_tickets(client, "ZD-1")
    record(client)
    receiver.wait_for(1)
    store = client.app.state.config_store  # type: ignore[attr-defined]
    store.path.write_text(store.path.read_text().replace("kinds: [breach]", "kinds: [alert]"))
    assert store.reload()
    overdue_tickets(client, "ZD-2")
    record(client)

    receiver.wait_for(2)
    time.sleep(0.5)
    assert [(json.loads(r.body)["data"]["ticket_id"], json.loads(r.body)["type"]) for r in receiver.received()] == [
        ("ZD-1", "sla.breach"),
        ("ZD-2", "sla.alert"),
    ]


def test_secrets_never_appear_in_config_logs_or_errors(
    notifying_app: AppFactory, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLA_ONCALL_SECRET", SECRET)
    token = "T0000000/B0000000/XXXXSECRETTOKENXXXX"
    receiver.script(f"/services/{token}", Reply(500))
    section = destination("oncall", receiver.url("/sign"), secret_env="SLA_ONCALL_SECRET", retries="[1s]")
    section += destination("chat", receiver.url(f"/services/{token}"), format="slack", retries="[1s]")
    receiver.script("/sign", Reply(500))
    caplog.set_level(logging.DEBUG)
    client = notifying_app(section)
    overdue_tickets(client, "ZD-1")
    record(client)
    receiver.wait_for(8, timeout=15)
    wait_until(lambda: {item["status"] for item in deliveries(client)} == {"dead"})

    shown = [
        client.get("/config").text,
        client.get("/notifications").text,
        client.get("/notifications/deliveries").text,
        caplog.text,
    ]
    for text in shown:
        assert SECRET not in text
        assert SECRET.removeprefix("whsec_") not in text
        assert token not in text
    assert "SLA_ONCALL_SECRET" in shown[0]
