"""A tiny standards-compliant OpenID Connect provider for tests: discovery, JWKS, an
authorization endpoint that approves at once (as whoever the test says is signed in there), and a
token endpoint that checks the client, the code, the redirect URI and PKCE, and issues an
RS256-signed ID token."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, get, post
from litestar.response import Redirect


@dataclass
class Provider:
    issuer: str
    client_id: str = "motcua-staff"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    email: str = ""  # who is "signed in" at the provider
    email_verified: bool = True
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_calls: int = 0

    def app(self) -> Litestar:
        p = self

        @get("/.well-known/openid-configuration", sync_to_thread=False)
        def discovery() -> dict[str, Any]:
            return {"issuer": p.issuer, "authorization_endpoint": p.issuer + "/authorize",
                    "token_endpoint": p.issuer + "/token", "jwks_uri": p.issuer + "/jwks",
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"]}

        @get("/jwks", sync_to_thread=False)
        def jwks() -> dict[str, Any]:
            return {"keys": [p.key.as_dict(private=False)]}

        @get("/authorize", sync_to_thread=False)
        def authorize(request: Request) -> Response[Any]:
            q = request.query_params
            if q.get("client_id") != p.client_id or q.get("response_type") != "code" or \
                    q.get("code_challenge_method") != "S256":
                return Response({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            p.codes[code] = {"nonce": q.get("nonce"), "redirect_uri": q.get("redirect_uri"),
                             "challenge": q.get("code_challenge"), "email": p.email}
            return Redirect(f"{q['redirect_uri']}?code={code}&state={q.get('state')}", status_code=302)

        @post("/token", status_code=200)
        async def token(request: Request) -> Response[Any]:
            p.token_calls += 1
            form = await request.form()
            grant = p.codes.pop(str(form.get("code")), None)  # single use
            if form.get("client_id") != p.client_id or form.get("client_secret") != p.client_secret:
                return Response({"error": "invalid_client"}, status_code=401)
            if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
                return Response({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(str(form.get("code_verifier")).encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                return Response({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            now = int(time.time())
            claims = {"iss": p.issuer, "aud": p.client_id, "sub": "sub-" + grant["email"], "iat": now,
                      "exp": now + 300, "nonce": grant["nonce"], "email": grant["email"],
                      "email_verified": p.email_verified, "name": "OIDC user"}
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, p.key)
            return Response({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                             "id_token": id_token})

        return Litestar(route_handlers=[discovery, jwks, authorize, token])
