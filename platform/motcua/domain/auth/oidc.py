"""OpenID Connect sign-in (authorization code flow with PKCE, state and nonce), with authlib's
OAuth 2 helpers and joserfc for the ID token.

Providers come from two places: the vendor's, from ``MOTCUA_OIDC_ISSUER``, ``MOTCUA_OIDC_CLIENT_ID``,
``MOTCUA_OIDC_CLIENT_SECRET`` (and optionally ``MOTCUA_OIDC_LABEL``), usable for operators and every
tenant's staff; and a tenant's own, from its file's ``[staff]`` table (``oidc_issuer``,
``oidc_client_id``, ``oidc_client_secret_env``), usable only for that tenant. Signing in never
creates an account: the ID token's verified ``email`` must match an existing active account.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

DISCOVERY_TTL = 300.0
CLOCK_SKEW = 60


class OidcError(Exception):
    """Sign-in with the provider failed; the message is safe to show."""


@dataclass(frozen=True)
class OidcProvider:
    key: str  # "vendor" or the tenant slug
    issuer: str
    client_id: str
    client_secret: str
    label: str = "Đăng nhập một lần (SSO)"
    tenant: str | None = None  # None: the vendor's provider


def vendor_provider(env: dict[str, str] | None = None) -> OidcProvider | None:
    env = os.environ if env is None else env
    issuer, client_id = env.get("MOTCUA_OIDC_ISSUER"), env.get("MOTCUA_OIDC_CLIENT_ID")
    if not issuer or not client_id:
        return None
    return OidcProvider(key="vendor", issuer=issuer.rstrip("/"), client_id=client_id,
                        client_secret=env.get("MOTCUA_OIDC_CLIENT_SECRET", ""),
                        label=env.get("MOTCUA_OIDC_LABEL") or "Đăng nhập một lần (SSO)")


def tenant_provider(tenant: Any, env: dict[str, str] | None = None) -> OidcProvider | None:
    """The provider a tenant file names in ``[staff]``, if any."""
    env = os.environ if env is None else env
    cfg = getattr(tenant.file, "staff", None)
    if cfg is None or not cfg.oidc_issuer or not cfg.oidc_client_id:
        return None
    secret = env.get(cfg.oidc_client_secret_env, "") if cfg.oidc_client_secret_env else ""
    return OidcProvider(key=tenant.slug, issuer=cfg.oidc_issuer.rstrip("/"), client_id=cfg.oidc_client_id,
                        client_secret=secret, label=cfg.oidc_label or "Đăng nhập một lần (SSO)", tenant=tenant.slug)


class OidcClient:
    """Discovery and key sets, cached per issuer for a few minutes."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    async def _json(self, url: str) -> dict[str, Any]:
        hit = self._cache.get(url)
        if hit and time.monotonic() - hit[0] < DISCOVERY_TTL:
            return hit[1]
        try:
            resp = await self.http.get(url)
            resp.raise_for_status()
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError("Không kết nối được máy chủ đăng nhập một lần. Vui lòng thử lại sau.") from exc
        self._cache[url] = (time.monotonic(), data)
        return data

    async def metadata(self, p: OidcProvider) -> dict[str, Any]:
        meta = await self._json(p.issuer + "/.well-known/openid-configuration")
        if meta.get("issuer", "").rstrip("/") != p.issuer:
            raise OidcError("Máy chủ đăng nhập một lần khai báo sai định danh (issuer).")
        return meta

    async def start(self, p: OidcProvider, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """The URL to send the browser to, and what must be kept (in a signed cookie) until it returns."""
        meta = await self.metadata(p)
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url = prepare_grant_uri(meta["authorization_endpoint"], p.client_id, "code", redirect_uri=redirect_uri,
                                scope="openid email profile", state=state, nonce=nonce,
                                code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
        return url, {"state": state, "nonce": nonce, "verifier": verifier, "provider": p.key}

    async def finish(self, p: OidcProvider, *, code: str, redirect_uri: str, verifier: str,
                     nonce: str) -> dict[str, Any]:
        """Exchange the code and return the ID token's verified claims."""
        meta = await self.metadata(p)
        try:
            resp = await self.http.post(meta["token_endpoint"], data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier, "client_id": p.client_id, "client_secret": p.client_secret})
        except httpx.HTTPError as exc:
            raise OidcError("Không kết nối được máy chủ đăng nhập một lần.") from exc
        if resp.status_code != 200:
            raise OidcError("Máy chủ đăng nhập một lần từ chối mã xác thực. Vui lòng đăng nhập lại.")
        id_token = resp.json().get("id_token")
        if not id_token:
            raise OidcError("Máy chủ đăng nhập một lần không trả về ID token.")
        keys = KeySet.import_key_set(await self._json(meta["jwks_uri"]))
        try:
            token = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
            jwt.JWTClaimsRegistry(
                leeway=CLOCK_SKEW, iss={"essential": True, "value": p.issuer},
                aud={"essential": True, "value": p.client_id}, exp={"essential": True},
                sub={"essential": True}, nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError("ID token không hợp lệ; vui lòng đăng nhập lại.") from exc
        claims = token.claims
        if claims.get("email_verified") is False or not claims.get("email"):
            raise OidcError("Tài khoản đăng nhập một lần chưa có email đã xác minh.")
        return claims
