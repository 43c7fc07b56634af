"""A real OpenID Connect provider for the tests, served over HTTP on 127.0.0.1 from a thread.

The app talks to it through Authlib exactly as it would to Keycloak or Google: discovery
(``/.well-known/openid-configuration``), keys (``/jwks``, an RSA key made when it starts),
``/authorize`` (no login page: it approves ``provider.user``, the claims a test sets, and
redirects back with a code and the state), ``/token`` (checks the code, which works once, the
redirect address, the client's secret and the PKCE ``code_verifier``, then answers an access
token and an RS256 ID token carrying the nonce of the authorization request) and ``/userinfo``.

Knobs for the tests: ``user`` (the claims of whoever "signs in"), ``userinfo_only`` (claims only
``/userinfo`` tells), ``id_token_changes`` (claims to change in the ID token, None removes one:
a wrong audience, an expired token), ``metadata_issuer`` (the issuer the discovery document
names, e.g. Microsoft's ``…/{tenantid}/v2.0``), ``deny`` (``/authorize`` answers
``error=access_denied``) and ``stop()`` (the port is closed: connection refused).
Import the fixture into a test module: ``from tests.oidc_provider import oidc_provider_fixture  # noqa: F401``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "ideastorm-test"
CLIENT_SECRET = "test-client-secret-0123456789"
ID_TOKEN_SECONDS = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # the test output stays readable
        pass


class OidcProvider:
    """The provider; ``start()`` serves it, ``stop()`` closes its port."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(4), "use": "sig", "alg": "RS256"},
                                       private=True)
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.user: dict[str, Any] = {"sub": "ada-1", "email": "ada@example.com", "email_verified": True,
                                     "name": "Ada Lovelace"}
        self.userinfo_only: dict[str, Any] = {}
        self.id_token_changes: dict[str, Any] = {}
        self.metadata_issuer: str | None = None
        self.deny = False
        self.token_requests = 0
        self._codes: dict[str, dict[str, Any]] = {}
        self._access_tokens: dict[str, dict[str, Any]] = {}
        self._server = None
        self._thread: threading.Thread | None = None
        self.port = free_port()

    # Serving -----------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OidcProvider:
        self._server = make_server("127.0.0.1", self.port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="oidc-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The app's ``OIDC_PROVIDERS`` entry for this provider."""
        return {"name": "test", "label": "Test ID", "issuer": self.issuer, "client_id": self.client_id,
                "client_secret": self.client_secret, **overrides}

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        routes = {
            "/.well-known/openid-configuration": self._discovery,
            "/jwks": self._jwks,
            "/authorize": self._authorize,
            "/token": self._token,
            "/userinfo": self._userinfo,
        }
        handler = routes.get(request.path)
        try:
            response = handler(request) if handler else _json({"error": "not_found"}, 404)
        except Exception as error:  # a bug here shows as the app's error, never a dead thread
            response = _json({"error": "server_error", "error_description": repr(error)}, 500)
        return response(environ, start_response)

    # Endpoints ----------------------------------------------------------------------------

    def _discovery(self, request: Request) -> Response:
        return _json({
            "issuer": self.metadata_issuer or self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
        })

    def _jwks(self, request: Request) -> Response:
        return _json({"keys": [self.key.as_dict(private=False)]})

    def _authorize(self, request: Request) -> Response:
        args = request.args
        redirect_uri = args.get("redirect_uri", "")
        if args.get("client_id") != self.client_id or not urlsplit(redirect_uri).scheme:
            return _json({"error": "invalid_request", "error_description": "unknown client or no redirect_uri"}, 400)
        state = args.get("state", "")
        if self.deny:
            return _redirect(redirect_uri, error="access_denied", state=state)
        if args.get("response_type") != "code" or "openid" not in args.get("scope", "").split():
            return _redirect(redirect_uri, error="invalid_request", state=state)
        # This provider insists on PKCE S256, a state and a nonce: a flow without them fails here.
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge") or not state \
                or not args.get("nonce"):
            return _redirect(redirect_uri, error="invalid_request", state=state)
        code = secrets.token_urlsafe(24)
        self._codes[code] = {"redirect_uri": redirect_uri, "nonce": args["nonce"],
                             "code_challenge": args["code_challenge"], "user": dict(self.user)}
        return _redirect(redirect_uri, code=code, state=state)

    def _token(self, request: Request) -> Response:
        self.token_requests += 1
        form = request.form
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id, client_secret = request.authorization.username, request.authorization.password
        if client_id != self.client_id or client_secret != self.client_secret:
            return _json({"error": "invalid_client"}, 401)
        if form.get("grant_type") != "authorization_code":
            return _json({"error": "unsupported_grant_type"}, 400)
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return _json({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or challenge != grant["code_challenge"]:
            return _json({"error": "invalid_grant", "error_description": "PKCE verification failed"}, 400)
        access_token = secrets.token_urlsafe(24)
        self._access_tokens[access_token] = grant["user"]
        return _json({"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                      "id_token": self.id_token(grant["user"], grant["nonce"])})

    def id_token(self, user: dict[str, Any], nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + ID_TOKEN_SECONDS,
                  "nonce": nonce, **user}
        for name, value in self.id_token_changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)

    def _userinfo(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        user = self._access_tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") \
            else None
        if user is None:
            return _json({"error": "invalid_token"}, 401)
        return _json({**user, **self.userinfo_only})


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _redirect(uri: str, **params: str) -> Response:
    separator = "&" if urlsplit(uri).query else "?"
    return Response(status=302, headers={"Location": uri + separator + urlencode(params)})


@pytest.fixture(name="oidc_provider")
def oidc_provider_fixture():
    """A running provider for one test (its own port, key and codes)."""
    provider = OidcProvider().start()
    try:
        yield provider
    finally:
        provider.stop()
