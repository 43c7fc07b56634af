"""Signing in with an OpenID Connect provider: off to the provider, and back with its answer.

``GET /login/sso/<name>`` keeps a safe ``next`` in the session and redirects to the provider
(Authlib adds the state, the nonce and a PKCE S256 challenge). ``GET /login/sso/<name>/callback``
exchanges the code, has Authlib check the ID token (signature, issuer, audience, nonce, expiry),
and leaves the decision of who signs in to ``services.resolve_member``. Everything that can go
wrong on the way answers a page saying what happened: 400 or 403 for a refused or spoilt
sign-in, 404 for a provider that is not configured, 503 when the provider cannot be reached.
"""

from __future__ import annotations

import logging
import re

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user
from joserfc.errors import JoseError

from .. import sso
from ..accounts import sessions
from ..database import run_transaction
from ..domain import DomainError
from ..security.network import network_prefix
from ..web import is_safe_next, redirect_next, render
from . import services
from .providers import Provider

bp = Blueprint("sso", __name__)
log = logging.getLogger(__name__)

NEXT_KEY = "sso_next"
NEXT_MAX = 2000
RETRY_AFTER_SECONDS = 60
# Error codes from the provider are shown only when they look like OAuth's own (RFC 6749 §4.1.2.1);
# anything else in the address could be text someone else wrote into the link.
ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")
STALE = _l("This sign-in link has expired, was already used, or was opened in another browser. Please start again.")


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _provider_or_404(name: str) -> Provider:
    return sso.get_provider(name) or abort(404)


def _callback_url(name: str) -> str:
    """The address registered at the provider: the site's public address, never the request's Host."""
    base = current_app.config.get("BASE_URL")
    path = url_for("sso.callback", name=name)
    return base + path if base else url_for("sso.callback", name=name, _external=True)


@bp.get("/login/sso/<name>")
def start(name: str):
    provider = _provider_or_404(name)
    if current_user.is_authenticated:
        return redirect_next("main.home")
    target = request.args.get("next")
    if is_safe_next(target) and len(target) <= NEXT_MAX:
        session[NEXT_KEY] = target
    else:
        session.pop(NEXT_KEY, None)  # an unsafe or absent next: home after signing in
    _forget_pending(name)
    try:
        return sso.client(name).authorize_redirect(_callback_url(name))
    except requests.RequestException as error:
        return _unreachable(provider, error)


def _forget_pending(name: str) -> None:
    """Drop the sign-ins with this provider started earlier and never finished.

    Authlib keeps each one's state, nonce and PKCE verifier in the session cookie for an hour
    (``_state_<name>_<state>``); a member clicking the button again and again would otherwise grow
    the cookie past what browsers keep. Only the latest sign-in can then come back.
    """
    for key in [key for key in session if key.startswith(f"_state_{name}_")]:
        session.pop(key)


@bp.get("/login/sso/<name>/callback")
def callback(name: str):
    provider = _provider_or_404(name)
    oauth = sso.client(name)
    try:
        claims = _verified_claims(provider, oauth)
    except _Refused as refusal:
        return _failed(provider, refusal.status, refusal.message)
    except requests.RequestException as error:
        return _unreachable(provider, error)
    try:
        result = run_transaction(lambda: services.resolve_member(
            provider, claims, ip_prefix=network_prefix(request.remote_addr)))
    except DomainError as error:
        return _failed(provider, error.status, error.message)
    target = session.pop(NEXT_KEY, None)
    sessions.sign_in(result.user, method=provider.method)
    refresh()  # the member's own language from now on, these messages included
    if result.created:
        flash(_("Welcome to IdeaStorm, %(name)s!", name=result.user.display_name), "success")
    else:
        flash(_("You are signed in."), "success")
    if result.linked and not result.created:
        flash(_("Your %(provider)s account is now linked to this account: use either to sign in.",
                provider=provider.label), "info")
    if result.promoted:
        flash(_("Your %(provider)s account makes you a member of staff here.", provider=provider.label), "info")
    return redirect(target if is_safe_next(target) else url_for("main.home"))


def _verified_claims(provider: Provider, oauth) -> dict:
    """The provider's answer, checked: the claims of a valid ID token (plus /userinfo when they lack some)."""
    error = request.args.get("error")
    if error:
        if error == "access_denied":
            raise _Refused(400, _("Signing in with %(provider)s was cancelled or refused at %(provider)s.",
                                  provider=provider.label))
        raise _Refused(400, _("%(provider)s could not sign you in (%(error)s).", provider=provider.label,
                              error=error if ERROR_CODE.match(error) else _("unknown error")))
    # The state is checked before anything is asked of the provider: an expired, replayed or
    # forged callback is refused without a request going out.
    if oauth.framework.get_state_data(session, request.args.get("state")) is None:
        raise _Refused(400, str(STALE))
    if not request.args.get("code"):
        raise _Refused(400, _("%(provider)s sent no authorization code. Please start again.",
                              provider=provider.label))
    metadata = oauth.load_server_metadata()
    if not metadata.get("issuer"):  # OpenID Connect requires it; without it no ID token could be checked
        log.error("Sign-in with %s refused: its discovery document names no issuer", provider.name)
        raise _Refused(503, _("%(provider)s cannot be used to sign in right now.", provider=provider.label))
    try:
        token = oauth.authorize_access_token(claims_options=provider.claims_options(metadata.get("issuer")))
    except MismatchingStateError:
        raise _Refused(400, str(STALE)) from None
    except OAuthError as refused:
        log.warning("Sign-in with %s refused at the token endpoint: %s %s", provider.name, refused.error,
                    refused.description)
        raise _Refused(400, _("%(provider)s refused the sign-in. Please start again.",
                              provider=provider.label)) from None
    except JoseError as invalid:
        log.warning("Sign-in with %s: the ID token is not valid: %r", provider.name, invalid)
        raise _Refused(400, _("The answer from %(provider)s could not be verified. Please start again.",
                              provider=provider.label)) from None
    claims = dict(token.get("userinfo") or {})
    if not claims:
        raise _Refused(400, _("%(provider)s sent no ID token. Please start again.", provider=provider.label))
    missing_groups = provider.staff_groups and provider.groups_claim not in claims
    if ("email" not in claims or missing_groups) and metadata.get("userinfo_endpoint"):
        extra = oauth.userinfo(token=token)
        if extra.get("sub") == claims.get("sub"):  # OpenID Connect Core §5.3.2: else it is not the same person
            claims = {**extra, **claims}
    return claims


def _failed(provider: Provider, status: int, message: str):
    return render("sso/error.html", status=status, provider=provider, message=message,
                  title=_("Sign-in with %(provider)s failed", provider=provider.label))


def _unreachable(provider: Provider, error: Exception):
    log.warning("Sign-in with %s: the provider cannot be reached: %r", provider.name, error)
    response = render("sso/error.html", status=503, provider=provider,
                      title=_("%(provider)s cannot be reached", provider=provider.label),
                      message=_("IdeaStorm cannot reach %(provider)s at the moment. Please try again in a few "
                                "minutes, or log in with your password.", provider=provider.label))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
