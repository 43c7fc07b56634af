"""The OpenID Connect providers the operator configured (``OIDC_PROVIDERS``), checked once at startup.

Each entry becomes a ``Provider``: what Authlib needs to talk to it (discovery address, client
id and secret, scope) and the site's rules for it (which email domains may sign in, who becomes
staff, whether new accounts may be made). A bad entry stops the app with a message naming the
entry and the key at fault, rather than failing on the first member's click.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")  # an address segment, fits identities.provider
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
DISCOVERY_PATH = "/.well-known/openid-configuration"
# Microsoft's multi-tenant discovery documents name their issuer with this placeholder: each
# member's ID token carries their own tenant there (and in its "tid" claim).
TENANT_PLACEHOLDER = "{tenantid}"

PRESETS: dict[str, dict[str, Any]] = {
    # Google always sends a boolean "email_verified".
    "google": {"label": "Google", "issuer": "https://accounts.google.com"},
    # Microsoft Entra ID: "common" (any work, school or personal account), "organizations",
    # "consumers", or one tenant (its id or domain). Its "email" claim is not verified unless
    # the optional claim "xms_edov" says the domain's owner verified it (see Provider.email_verified).
    "microsoft": {"label": "Microsoft", "tenant": "common"},
}
KEYS = {
    "name", "label", "preset", "issuer", "server_metadata_url", "tenant", "client_id", "client_secret", "scope",
    "email_domains", "staff_email_domains", "staff_groups", "groups_claim", "allow_signup", "trust_email",
}
DEFAULT_SCOPE = "openid email profile"


class ProviderConfigError(RuntimeError):
    """``OIDC_PROVIDERS`` holds an entry the app cannot use."""


@dataclass(frozen=True)
class Provider:
    name: str  # in addresses (/login/sso/<name>) and in identities.provider
    label: str  # on the button: "Sign in with <label>"
    server_metadata_url: str
    client_id: str
    client_secret: str
    scope: str = DEFAULT_SCOPE
    preset: str | None = None
    email_domains: frozenset[str] = frozenset()  # only these may sign in here (empty: any)
    staff_email_domains: frozenset[str] = frozenset()
    staff_groups: frozenset[str] = frozenset()
    groups_claim: str = "groups"
    allow_signup: bool = True
    trust_email: bool = False  # the operator vouches for every address this provider sends

    @property
    def method(self) -> str:
        """How a session started here is recorded (``LoginSession.method``)."""
        return f"sso:{self.name}"

    def email_verified(self, claims: Mapping[str, Any]) -> bool:
        """Whether the provider vouches that the member owns the ``email`` it sent.

        Standard providers (Google, Keycloak) say so with ``email_verified``. Microsoft sends no
        such claim and lets tenant admins set any address, so there only ``xms_edov`` (an optional
        claim: the domain's owner verified it) counts, unless the operator set ``trust_email``.
        """
        if self.trust_email or _truthy(claims.get("email_verified")):
            return True
        return self.preset == "microsoft" and _truthy(claims.get("xms_edov"))

    def groups(self, claims: Mapping[str, Any]) -> set[str]:
        """The member's groups from ``groups_claim``; Keycloak's full paths ("/rnd") also match "rnd"."""
        value = claims.get(self.groups_claim)
        values = [value] if isinstance(value, str) else value if isinstance(value, (list, tuple)) else []
        names = {str(v) for v in values if isinstance(v, (str, int))}
        return names | {n.lstrip("/") for n in names}

    def claims_options(self, issuer: str | None) -> dict[str, dict[str, Any]]:
        """What Authlib checks in the ID token besides the signature, expiry and nonce.

        The audience must be this client (Authlib alone only checks ``azp`` when ``aud`` differs),
        and the issuer the one the discovery document names; for Microsoft's multi-tenant
        documents, the issuer with the member's own tenant (``tid``) in place of ``{tenantid}``.
        A new dict each time: Authlib takes the ``validate`` hooks out of the one it is given.
        """
        options: dict[str, dict[str, Any]] = {"aud": {"essential": True, "value": self.client_id}}
        if issuer and TENANT_PLACEHOLDER in issuer:
            options["iss"] = {"essential": True, "validate": _tenant_issuer(issuer)}
        elif issuer:
            options["iss"] = {"essential": True, "values": [issuer]}
        return options


def _tenant_issuer(template: str) -> Callable[[Mapping[str, Any], Any], bool]:
    def validate(claims: Mapping[str, Any], value: Any) -> bool:
        tenant = claims.get("tid")
        return isinstance(tenant, str) and bool(tenant) and "/" not in tenant and \
            value == template.replace(TENANT_PLACEHOLDER, tenant)

    return validate


def _truthy(value: Any) -> bool:
    # Some providers (older Keycloak mappers, Cognito) send booleans as strings.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def parse_providers(raw: Any) -> dict[str, Provider]:
    """``OIDC_PROVIDERS`` as providers by name; ``ProviderConfigError`` names the first entry at fault."""
    if raw in (None, "", [], ()):
        return {}
    if isinstance(raw, str):  # from_prefixed_env leaves a value that is not valid JSON as text
        try:
            raw = json.loads(raw)
        except ValueError as error:
            raise ProviderConfigError(f"OIDC_PROVIDERS is not valid JSON: {error}") from None
    if not isinstance(raw, (list, tuple)):
        raise ProviderConfigError("OIDC_PROVIDERS must be a list of providers, e.g. "
                                  '[{"name": "google", "client_id": "…", "client_secret": "…"}]')
    providers: dict[str, Provider] = {}
    for index, entry in enumerate(raw):
        provider = _parse_entry(index, entry)
        if provider.name in providers:
            raise ProviderConfigError(f"OIDC_PROVIDERS[{index}]: the name {provider.name!r} is used twice")
        providers[provider.name] = provider
    return providers


def _parse_entry(index: int, entry: Any) -> Provider:
    where = f"OIDC_PROVIDERS[{index}]"
    if not isinstance(entry, Mapping):
        raise ProviderConfigError(f"{where} must be an object with a name, a client_id and a client_secret")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ProviderConfigError(
            f"{where}: the name {name!r} must be 1 to 32 lower-case letters, digits or hyphens (it is used in "
            f"the address /login/sso/<name>)")
    where = f"{where} ({name!r})"

    def fail(message: str):
        raise ProviderConfigError(f"{where}: {message}")

    unknown = sorted(set(entry) - KEYS)
    if unknown:
        fail(f"unknown key {unknown[0]!r}; the keys are {', '.join(sorted(KEYS))}")
    preset_name = entry.get("preset", name if name in PRESETS else None)
    if preset_name is not None and preset_name not in PRESETS:
        fail(f"unknown preset {preset_name!r}; the presets are {', '.join(PRESETS)}")
    settings = {**PRESETS.get(preset_name, {}), **entry}

    def text(key: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = settings.get(key, default)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                fail(f"{key} is missing")
            return default
        if not isinstance(value, str):
            fail(f"{key} must be text")
        return value.strip()

    def flag(key: str, default: bool) -> bool:
        value = settings.get(key, default)
        if not isinstance(value, bool):
            fail(f"{key} must be true or false")
        return value

    def domains(key: str) -> frozenset[str]:
        value = settings.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            fail(f"{key} must be a list of email domains, e.g. [\"example.com\"]")
        return frozenset(v.strip().lower().lstrip("@") for v in value)

    def names(key: str) -> frozenset[str]:
        value = settings.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            fail(f"{key} must be a list of group names, e.g. [\"rnd\"]")
        return frozenset(v.strip().lstrip("/") for v in value)

    metadata_url = text("server_metadata_url")
    if preset_name == "microsoft" and not metadata_url:
        tenant = text("tenant", default="common")
        if not re.fullmatch(r"[A-Za-z0-9.-]+", tenant):
            fail(f"tenant {tenant!r} must be a tenant id, a domain, common, organizations or consumers")
        metadata_url = f"https://login.microsoftonline.com/{tenant}/v2.0{DISCOVERY_PATH}"
    if not metadata_url:
        issuer = text("issuer")
        if not issuer:
            fail("give the provider's issuer (its discovery document is <issuer>/.well-known/openid-configuration) "
                 "or its server_metadata_url")
        metadata_url = issuer.rstrip("/") + DISCOVERY_PATH
    _check_url(metadata_url, fail)
    scope = text("scope", default=DEFAULT_SCOPE)
    if "openid" not in scope.split():
        fail(f"scope {scope!r} must include openid")
    label = text("label", default=name.replace("-", " ").title())
    return Provider(
        name=name, label=label, server_metadata_url=metadata_url,
        client_id=text("client_id", required=True), client_secret=text("client_secret", required=True),
        scope=scope, preset=preset_name,
        email_domains=domains("email_domains"), staff_email_domains=domains("staff_email_domains"),
        staff_groups=names("staff_groups"), groups_claim=text("groups_claim", default="groups"),
        allow_signup=flag("allow_signup", True), trust_email=flag("trust_email", False),
    )


def _check_url(url: str, fail: Callable[[str], None]) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        fail(f"{url!r} is not an http(s) address")
    # Tokens and keys travel over this: plain http only to a provider on this machine (tests, development).
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        fail(f"{url!r} must use https (plain http only for a provider on this machine)")
