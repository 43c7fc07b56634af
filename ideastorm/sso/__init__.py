"""Single sign-on with OpenID Connect: the providers the operator configured, and their Authlib clients.

``init_app`` checks ``OIDC_PROVIDERS`` when the app starts (a bad entry stops it with a clear
message) and registers one Authlib client per provider on this app's own registry, so two apps
in one process (the tests) never share a provider's settings or its cached discovery document.
The sign-in rules are in ``services.py``, the two routes in ``routes.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from .providers import Provider, ProviderConfigError, parse_providers

__all__ = ["Provider", "ProviderConfigError", "init_app", "configured_providers", "get_provider", "client"]
EXTENSION = "ideastorm.sso"


class _Registry(OAuth):
    """Authlib's Flask registry, reading nothing from the app's config.

    Authlib would otherwise pick up ``<NAME>_AUTHORIZE_URL`` and the like from ``app.config``;
    everything a provider needs comes from its ``OIDC_PROVIDERS`` entry.
    """

    def load_config(self, name, params):
        return {}


@dataclass
class _State:
    providers: dict[str, Provider] = field(default_factory=dict)
    oauth: OAuth | None = None


def init_app(app: Flask) -> None:
    configured = parse_providers(app.config.get("OIDC_PROVIDERS"))
    oauth = _Registry(app)
    timeout = float(app.config.get("OIDC_TIMEOUT_SECONDS") or 10)
    for provider in configured.values():
        oauth.register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.server_metadata_url,
            # PKCE (S256) on top of the state and the nonce Authlib always sends with "openid".
            client_kwargs={"scope": provider.scope, "code_challenge_method": "S256", "default_timeout": timeout},
        )
    app.extensions[EXTENSION] = _State(configured, oauth)
    app.context_processor(lambda: TEMPLATE_GLOBALS)


def configured_providers() -> tuple[Provider, ...]:
    return tuple(current_app.extensions[EXTENSION].providers.values())


def get_provider(name: str) -> Provider | None:
    return current_app.extensions[EXTENSION].providers.get(name)


def client(name: str):
    """The Authlib client of provider ``name`` (a ``FlaskOAuth2App``)."""
    return current_app.extensions[EXTENSION].oauth.create_client(name)


def _identities(user):
    from .services import identities_of

    return identities_of(user) if getattr(user, "is_authenticated", False) else []


def _label(name: str) -> str:
    provider = get_provider(name)
    return provider.label if provider else name  # a provider since removed from the configuration


TEMPLATE_GLOBALS = {
    # The log-in and sign-up pages draw one "Sign in with …" link per provider; /account lists the linked ones.
    "sso_providers": configured_providers,
    "sso_identities": _identities,
    "sso_label": _label,
}
