"""Who the dashboard admits, and the `[auth]` secrets it makes from `SLA_OIDC_*`, without Streamlit."""

import tomllib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.access import AllowedUsers, SignInMisconfigured, auth_secrets_toml

labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
domains = st.lists(labels, min_size=1, max_size=3).map(".".join)
local_parts = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=16)
addresses = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)
# Letters in either case, as people and providers write them.
shouting = st.sampled_from([str.lower, str.upper, str.title])
toml_values = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1).filter(lambda text: text.strip())

SIGN_IN = {
    "SLA_OIDC_ISSUER_URL": "https://accounts.example.com/",
    "SLA_OIDC_CLIENT_ID": "sla-dashboard",
    "SLA_OIDC_CLIENT_SECRET": "client-secret",
    "SLA_DASHBOARD_URL": "https://sla.example.com",
}


def test_full_addresses_and_domains_with_or_without_an_at_sign_are_admitted() -> None:
    allowed = AllowedUsers.parse(" alice@partner.org, example.com ,@corp.example.net")

    assert allowed.admits("alice@partner.org")
    assert allowed.admits("bob@example.com")
    assert allowed.admits("carol@corp.example.net")
    assert not allowed.admits("bob@partner.org")
    assert not allowed.admits("mallory@notexample.com")
    assert not allowed.admits("mallory@eu.example.com")
    assert not allowed.admits("example.com")
    assert not allowed.admits("@example.com")


def test_an_empty_list_admits_nobody() -> None:
    for text in ("", " ", ",", " , ,"):
        allowed = AllowedUsers.parse(text)
        assert allowed.is_empty
        assert not allowed.admits("anyone@example.com")


def test_a_user_without_an_email_or_with_an_unverified_one_is_turned_away() -> None:
    allowed = AllowedUsers.parse("example.com")

    assert not allowed.admits(None)
    assert not allowed.admits("")
    assert not allowed.admits("bob@example.com", email_verified=False)
    assert not allowed.admits("bob@example.com", email_verified="false")
    assert allowed.admits("bob@example.com", email_verified=True)


@given(address=addresses, case=shouting, listed_as=shouting)
def test_a_listed_address_is_admitted_whatever_the_case(
    address: str, case: Callable[[str], str], listed_as: Callable[[str], str]
) -> None:
    assert AllowedUsers.parse(f"nobody@nowhere.test, {listed_as(address)}").admits(case(address))


@given(local=local_parts, domain=domains, case=shouting, at_sign=st.sampled_from(["", "@"]))
def test_everyone_at_a_listed_domain_is_admitted(
    local: str, domain: str, case: Callable[[str], str], at_sign: str
) -> None:
    assert AllowedUsers.parse(at_sign + domain).admits(case(f"{local}@{domain}"))


@given(listed=st.lists(st.one_of(addresses, domains), max_size=5), email=addresses)
def test_only_a_listed_address_or_the_exact_domain_of_one_admits(listed: list[str], email: str) -> None:
    domain = email.rpartition("@")[2]

    assert AllowedUsers.parse(",".join(listed)).admits(email) == (email in listed or domain in listed)


def test_no_sign_in_variables_make_no_secrets() -> None:
    assert auth_secrets_toml({}, fallback_cookie_secret="x") is None
    assert auth_secrets_toml({"SLA_DASHBOARD_URL": "https://sla.example.com"}, fallback_cookie_secret="x") is None


def test_the_issuer_client_and_dashboard_address_make_streamlits_auth_section() -> None:
    made = auth_secrets_toml(SIGN_IN, fallback_cookie_secret="random-at-start")

    assert made is not None
    assert tomllib.loads(made) == {
        "auth": {
            "redirect_uri": "https://sla.example.com/oauth2callback",
            "cookie_secret": "random-at-start",
            "client_id": "sla-dashboard",
            "client_secret": "client-secret",
            "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration",
        }
    }


def test_a_full_discovery_url_and_a_cookie_secret_of_ones_own_are_taken_as_they_are() -> None:
    environ = {
        **SIGN_IN,
        "SLA_OIDC_ISSUER_URL": "https://idp.example.com/realms/x/.well-known/openid-configuration",
        "SLA_OIDC_COOKIE_SECRET": "kept-across-restarts",
    }
    made = auth_secrets_toml(environ, fallback_cookie_secret="random-at-start")

    assert made is not None
    auth = tomllib.loads(made)["auth"]
    assert auth["server_metadata_url"] == environ["SLA_OIDC_ISSUER_URL"]
    assert auth["cookie_secret"] == "kept-across-restarts"


@pytest.mark.parametrize("left_out", ["SLA_OIDC_CLIENT_ID", "SLA_OIDC_CLIENT_SECRET", "SLA_DASHBOARD_URL"])
def test_an_issuer_without_the_rest_is_refused_by_name(left_out: str) -> None:
    environ = {**SIGN_IN, left_out: " "}

    with pytest.raises(SignInMisconfigured, match=left_out):
        auth_secrets_toml(environ, fallback_cookie_secret="x")


def test_client_settings_without_an_issuer_are_refused_rather_than_leaving_the_dashboard_open() -> None:
    environ = {key: value for key, value in SIGN_IN.items() if key != "SLA_OIDC_ISSUER_URL"}

    with pytest.raises(SignInMisconfigured, match="SLA_OIDC_ISSUER_URL"):
        auth_secrets_toml(environ, fallback_cookie_secret="x")


@given(client_id=toml_values, client_secret=toml_values, cookie_secret=toml_values)
def test_any_secret_survives_the_trip_through_toml(client_id: str, client_secret: str, cookie_secret: str) -> None:
    environ = {
        **SIGN_IN,
        "SLA_OIDC_CLIENT_ID": client_id,
        "SLA_OIDC_CLIENT_SECRET": client_secret,
        "SLA_OIDC_COOKIE_SECRET": cookie_secret,
    }
    made = auth_secrets_toml(environ, fallback_cookie_secret="x")

    assert made is not None
    auth = tomllib.loads(made)["auth"]
    assert (auth["client_id"], auth["client_secret"], auth["cookie_secret"]) == (
        client_id.strip(),
        client_secret.strip(),
        cookie_secret.strip(),
    )
