"""Sign-in in a real headless Chromium: the dashboard started by `python -m dashboard` with SLA_OIDC_*
pointing at a real OpenID Connect provider (oidc-provider-mock's server), against the real API."""

import os
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from bench.harness import free_port
from tests.conftest import ADMIN_KEY
from tests.dashboard.conftest import serve

pytestmark = pytest.mark.browser

ALLOWED_USERS = "ops@partner.org, example.com"


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[str]:
    """oidc-provider-mock's HTTP server; it signs in whoever types a subject, with that as the e-mail claim."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port)]
    with serve(command, dict(os.environ), f"{base}/.well-known/openid-configuration"):
        yield base


@pytest.fixture(scope="module")
def dashboard_url(live_api: str, identity_provider: str) -> Iterator[str]:
    """`python -m dashboard` configured for sign-in as an operator would do it, through the environment."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key != "STREAMLIT_SECRETS_FILES"}
    env.update(
        {
            "SLA_API_URL": live_api,
            "SLA_API_KEY": ADMIN_KEY,
            "SLA_OIDC_ISSUER_URL": identity_provider,
            "SLA_OIDC_CLIENT_ID": "sla-dashboard",
            "SLA_OIDC_CLIENT_SECRET": "client-secret-for-tests",
            "SLA_DASHBOARD_URL": base,
            "SLA_DASHBOARD_ALLOWED_USERS": ALLOWED_USERS,
        }
    )
    command = [
        sys.executable, "-m", "dashboard",
        "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with serve(command, env, f"{base}/_stcore/health"):
        yield base


@pytest.fixture
def new_visitor(chromium: Browser) -> Iterator[Page]:
    """A tab in a context of its own: no cookies from anyone signed in before."""
    context = chromium.new_context(viewport={"width": 1440, "height": 960})
    yield context.new_page()
    context.close()


def sign_in(page: Page, dashboard_url: str, email: str) -> None:
    """Open the dashboard, press its sign-in button and sign in at the provider as `email`."""
    page.goto(dashboard_url)
    expect(page.get_by_text("Sign in to see the SLA dashboard.")).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill(email)
    page.get_by_role("button", name="Authorize").click()


def test_someone_not_signed_in_sees_only_the_sign_in_page(dashboard_url: str, new_visitor: Page) -> None:
    new_visitor.goto(f"{dashboard_url}/alerts")

    expect(new_visitor.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    expect(new_visitor.get_by_role("heading", name="Alerts and breaches")).to_have_count(0)
    expect(new_visitor.get_by_text("Create or update a ticket")).to_have_count(0)


def test_an_allowed_user_signs_in_at_the_provider_and_sees_the_overview(dashboard_url: str, new_visitor: Page) -> None:
    sign_in(new_visitor, dashboard_url, "alice@example.com")

    expect(new_visitor.get_by_role("heading", name="SLA overview")).to_be_visible(timeout=30_000)
    expect(new_visitor.locator('a.tile[data-label="Open tickets"]')).to_be_visible(timeout=15_000)
    sidebar = new_visitor.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("alice@example.com")).to_be_visible()
    expect(sidebar.get_by_role("button", name="Sign out")).to_be_visible()
    expect(new_visitor.get_by_text("No sign-in is configured")).to_have_count(0)


def test_a_user_not_on_the_list_is_turned_away_after_signing_in(dashboard_url: str, new_visitor: Page) -> None:
    sign_in(new_visitor, dashboard_url, "mallory@elsewhere.org")

    expect(new_visitor.get_by_text("This account is not allowed to use this dashboard.")).to_be_visible(timeout=30_000)
    expect(new_visitor.get_by_text("Signed in as mallory@elsewhere.org")).to_be_visible()
    expect(new_visitor.get_by_role("button", name="Sign out")).to_be_visible()
    expect(new_visitor.get_by_role("heading", name="SLA overview")).to_have_count(0)
    expect(new_visitor.locator('a.tile[data-label="Open tickets"]')).to_have_count(0)
