"""The only module that speaks HTTP to the API; the base URL comes from SLA_API_URL."""

import os
from typing import Any
from urllib.parse import quote

import requests

DEFAULT_API_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 10


class ApiUnavailable(Exception):
    """The API does not answer, or answers with a server error."""


class ApiRejected(Exception):
    """The API refused the request; `detail` holds its explanation."""

    def __init__(self, status: int, error: str, detail: Any) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.detail = detail


def base_url() -> str:
    """Where the API listens."""
    return os.environ.get("SLA_API_URL", DEFAULT_API_URL).rstrip("/")


_session = requests.Session()


def auth_headers() -> dict[str, str]:
    """The dashboard's own key (SLA_API_KEY), as the API takes it."""
    key = os.environ.get("SLA_API_KEY", "").strip()
    return {"Authorization": f"Bearer {key}"} if key else {}


def _call(method: str, path: str, *, extra_headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
    headers = {**auth_headers(), **(extra_headers or {})}
    try:
        response = _session.request(method, f"{base_url()}{path}", timeout=TIMEOUT_SECONDS, headers=headers, **kwargs)
    except requests.RequestException as exc:
        raise ApiUnavailable(f"The API at {base_url()} does not answer ({type(exc).__name__})") from exc
    if response.status_code >= 500:
        raise ApiUnavailable(f"The API at {base_url()} answered {response.status_code}")
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.reason, "detail": response.text}
        raise ApiRejected(response.status_code, body.get("error", ""), body.get("detail"))
    return response.json()


def summary(window: str = "24h") -> dict[str, Any]:
    """GET /dashboard/summary over a window of 24h, 7d or 30d."""
    return dict(_call("GET", "/dashboard/summary", params={"window": window}))


def config() -> dict[str, Any]:
    """GET /config."""
    return dict(_call("GET", "/config"))


def tickets(*, limit: int = 50, cursor: str | None = None, **filters: list[str]) -> dict[str, Any]:
    """GET /tickets with filters (each a list of accepted values)."""
    params: dict[str, Any] = {"limit": limit, **{key: value for key, value in filters.items() if value}}
    if cursor:
        params["cursor"] = cursor
    return dict(_call("GET", "/tickets", params=params))


def ticket(ticket_id: str) -> dict[str, Any] | None:
    """GET /tickets/{id}, or None when there is no such ticket."""
    try:
        return dict(_call("GET", f"/tickets/{quote(ticket_id, safe='')}"))
    except ApiRejected as exc:
        if exc.status == 404:
            return None
        raise


def alerts(*, limit: int = 50, cursor: str | None = None, **filters: Any) -> dict[str, Any]:
    """GET /alerts with filters."""
    params: dict[str, Any] = {"limit": limit, **{key: value for key, value in filters.items() if value}}
    if cursor:
        params["cursor"] = cursor
    return dict(_call("GET", "/alerts", params=params))


def send_snapshots(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """POST /tickets."""
    return dict(_call("POST", "/tickets", json=snapshots))


def notifications() -> dict[str, Any]:
    """GET /notifications."""
    return dict(_call("GET", "/notifications"))


def preview_config(candidate: str) -> dict[str, Any]:
    """POST /config/preview: what a candidate sla_config.yaml would change (needs an admin key)."""
    headers = {"Content-Type": "application/yaml"}
    return dict(_call("POST", "/config/preview", data=candidate.encode("utf-8"), extra_headers=headers))
