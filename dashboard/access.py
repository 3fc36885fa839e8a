"""Who may use the dashboard, and Streamlit's `[auth]` secrets made from `SLA_OIDC_*` variables; no Streamlit here."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

SIGN_IN_VARIABLES = (
    "SLA_OIDC_ISSUER_URL",
    "SLA_OIDC_CLIENT_ID",
    "SLA_OIDC_CLIENT_SECRET",
    "SLA_OIDC_COOKIE_SECRET",
    "SLA_DASHBOARD_URL",
)
DISCOVERY_PATH = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class AllowedUsers:
    """Full e-mail addresses and whole domains, lower-cased."""

    addresses: frozenset[str]
    domains: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> "AllowedUsers":
        """Read `someone@example.com`, `example.com` and `@example.com` entries, separated by commas or spaces."""
        addresses: set[str] = set()
        domains: set[str] = set()
        for entry in re.split(r"[,\s]+", text.strip().lower()):
            local, _, domain = entry.rpartition("@")
            if local:
                addresses.add(entry)
            elif domain:
                domains.add(domain)
        return cls(frozenset(addresses), frozenset(domains))

    @property
    def is_empty(self) -> bool:
        """Whether the list admits nobody."""
        return not self.addresses and not self.domains

    def admits(self, email: object, *, email_verified: object = None) -> bool:
        """Whether the signed-in user with this `email` claim may use the dashboard."""
        # A provider that says the address is unverified may have let anyone type it in.
        if not isinstance(email, str) or email_verified in (False, "false"):
            return False
        address = email.strip().lower()
        local, _, domain = address.rpartition("@")
        if not local or not domain:
            return False
        return address in self.addresses or domain in self.domains


class SignInMisconfigured(ValueError):
    """Some `SLA_OIDC_*` variables are set but not all the ones sign-in needs."""


def auth_secrets_toml(environ: Mapping[str, str], *, fallback_cookie_secret: str) -> str | None:
    """Streamlit's `[auth]` section from `SLA_OIDC_*` and `SLA_DASHBOARD_URL`; None when no issuer is set."""
    values = {name.removeprefix("SLA_"): environ.get(name, "").strip() for name in SIGN_IN_VARIABLES}
    if not values["OIDC_ISSUER_URL"]:
        stray = [f"SLA_{name}" for name, value in values.items() if name.startswith("OIDC_") and value]
        if stray:
            raise SignInMisconfigured(f"{', '.join(stray)} set without SLA_OIDC_ISSUER_URL")
        return None
    missing = [f"SLA_{name}" for name in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "DASHBOARD_URL") if not values[name]]
    if missing:
        raise SignInMisconfigured(f"SLA_OIDC_ISSUER_URL is set, so sign-in also needs {', '.join(missing)}")
    issuer = values["OIDC_ISSUER_URL"].rstrip("/")
    section = {
        "redirect_uri": values["DASHBOARD_URL"].rstrip("/") + "/oauth2callback",
        "cookie_secret": values["OIDC_COOKIE_SECRET"] or fallback_cookie_secret,
        "client_id": values["OIDC_CLIENT_ID"],
        "client_secret": values["OIDC_CLIENT_SECRET"],
        "server_metadata_url": issuer if issuer.endswith(DISCOVERY_PATH) else issuer + DISCOVERY_PATH,
    }
    return "[auth]\n" + "".join(f"{key} = {_toml_string(value)}\n" for key, value in section.items())


def _toml_string(value: str) -> str:
    """`value` as a TOML basic string."""
    return '"' + re.sub(r'["\\\x00-\x1f\x7f]', lambda found: f"\\u{ord(found.group()):04x}", value) + '"'
