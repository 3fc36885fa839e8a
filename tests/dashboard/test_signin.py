"""Sign-in before any page, through Streamlit's AppTest and its simulated `st.user`, against the real API."""

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.signin import NOBODY_ALLOWED, OPEN_NOTICE
from tests.conftest import ROOT

APP = str(ROOT / "dashboard" / "streamlit_app.py")
PROVIDER = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-cookie-secret-for-tests",
    "client_id": "sla-dashboard",
    "client_secret": "client-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def app(*, auth: dict[str, Any] | None, user: dict[str, Any] | None = None) -> AppTest:
    test = AppTest.from_file(APP, default_timeout=30)
    # Secrets of the test's own, so that no secrets.toml on this machine decides what is configured.
    test.secrets = {"auth": auth} if auth is not None else {"unrelated": "value"}
    if user is not None:
        test.user = user
    test.run()
    assert not test.exception, test.exception
    return test


def signed_in(email: str, **claims: Any) -> dict[str, Any]:
    return {"is_logged_in": True, "email": email, **claims}


@pytest.fixture
def allowed_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLA_DASHBOARD_ALLOWED_USERS", "ops@partner.org, @example.com")


def shows_the_overview(test: AppTest) -> bool:
    return any(title.value == "SLA overview" for title in test.title) and "Next to breach" in [
        subheader.value for subheader in test.subheader
    ]


def test_without_a_provider_every_page_says_anyone_can_use_the_dashboard(dashboard_env: str) -> None:
    test = app(auth=None)

    for page in ("app_pages/overview.py", "app_pages/alerts.py", "app_pages/tickets.py", "app_pages/config.py"):
        test.switch_page(page).run()
        assert not test.exception, test.exception
        assert [warning.value for warning in test.warning][:1] == [OPEN_NOTICE], page
    assert shows_the_overview(test.switch_page("app_pages/overview.py").run())


def test_with_a_provider_someone_not_signed_in_sees_only_a_sign_in_button(
    dashboard_env: str, allowed_users: None
) -> None:
    test = app(auth=PROVIDER, user={"is_logged_in": False})

    assert [button.label for button in test.button] == ["Sign in"]
    assert not shows_the_overview(test)
    assert not test.sidebar.subheader
    assert OPEN_NOTICE not in [warning.value for warning in test.warning]


def test_an_allowed_user_sees_the_overview_and_who_is_signed_in(dashboard_env: str, allowed_users: None) -> None:
    test = app(auth=PROVIDER, user=signed_in("Bob@Example.com", email_verified=True))

    assert shows_the_overview(test)
    assert "Bob@Example.com" in [text.value for text in test.sidebar.text]
    assert test.sidebar.button(key="sign_out").label == "Sign out"
    assert OPEN_NOTICE not in [warning.value for warning in test.warning]


def test_a_user_not_on_the_list_is_turned_away_with_a_way_to_sign_out(dashboard_env: str, allowed_users: None) -> None:
    test = app(auth=PROVIDER, user=signed_in("mallory@elsewhere.org"))

    assert not shows_the_overview(test)
    assert "not allowed" in test.error[0].value
    assert "Signed in as mallory@elsewhere.org" in [text.value for text in test.text]
    assert not test.sidebar.subheader

    test.button(key="sign_out").click().run()

    assert [button.label for button in test.button] == ["Sign in"]


def test_an_unverified_address_at_an_allowed_domain_is_turned_away(dashboard_env: str, allowed_users: None) -> None:
    test = app(auth=PROVIDER, user=signed_in("bob@example.com", email_verified=False))

    assert not shows_the_overview(test)
    assert "not allowed" in test.error[0].value


def test_with_an_empty_allowed_list_nobody_gets_in_and_the_page_says_why(
    dashboard_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLA_DASHBOARD_ALLOWED_USERS", "")

    test = app(auth=PROVIDER, user=signed_in("bob@example.com"))

    assert not shows_the_overview(test)
    assert NOBODY_ALLOWED in [markdown.value for markdown in test.markdown]


def test_signing_out_returns_to_the_sign_in_page(dashboard_env: str, allowed_users: None) -> None:
    test = app(auth=PROVIDER, user=signed_in("ops@partner.org"))
    assert shows_the_overview(test)

    test.sidebar.button(key="sign_out").click().run()

    assert not shows_the_overview(test)
    assert [button.label for button in test.button] == ["Sign in"]


def test_each_named_provider_gets_its_own_button(dashboard_env: str, allowed_users: None) -> None:
    named = {
        "redirect_uri": PROVIDER["redirect_uri"],
        "cookie_secret": PROVIDER["cookie_secret"],
        "google": {key: PROVIDER[key] for key in ("client_id", "client_secret", "server_metadata_url")},
        "okta": {key: PROVIDER[key] for key in ("client_id", "client_secret", "server_metadata_url")},
    }

    test = app(auth=named, user={"is_logged_in": False})

    assert [button.label for button in test.button] == ["Sign in with google", "Sign in with okta"]


def test_an_auth_section_without_a_provider_keeps_the_dashboard_closed(dashboard_env: str) -> None:
    test = app(auth={"redirect_uri": PROVIDER["redirect_uri"]}, user=signed_in("bob@example.com"))

    assert not shows_the_overview(test)
    assert not test.button
    assert "without a provider" in test.error[0].value
