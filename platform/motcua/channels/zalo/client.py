"""An async client for Zalo's OA Open API, ZNS and OAuth v4, with Zalo's errors as types.

Zalo answers errors with HTTP 200 and ``{"error": <negative int>, "message": ...}``; every call
checks ``error``. OA and ZNS calls authenticate with a bare ``access_token`` header; OAuth
calls with ``secret_key`` (the App Secret) and a form body. Base URLs come from settings, so
tests point them at the simulator. See reference zalo.md §1, §2, §4.

Error types (what the caller does):

* ``TokenExpired`` (-216, -220, ZNS -124): refresh once, retry once.
* ``WindowClosed`` (-230, -232; -213 not following): fall back to ZNS.
* ``RateLimited`` (-32): wait and retry, not an error.
* ``QuotaExceeded`` (-211, -115, -144, ...): retry much later.
* ``Transient`` (HTTP 5xx, connection errors, -214): back off and retry.
  ``OutcomeUnknown`` (a timeout after the request was sent) is a Transient whose message may
  have been accepted: retries must check before sending again.
* ``Rejected``: anything else; permanent for this message.
* ``OAuthError``: the OAuth host refused (invalid code, verifier or refresh token).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

import httpx

from motcua.settings import ZaloSettings

CS_TEXT_LIMIT = 2000  # characters, after NFC normalisation (zalo.md §1.3)
MAX_BUTTONS = 5


class ZaloError(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"Zalo error {code}: {message}")
        self.code = code
        self.message = message


class TokenExpired(ZaloError):
    pass


class WindowClosed(ZaloError):
    pass


class RateLimited(ZaloError):
    pass


class QuotaExceeded(ZaloError):
    pass


class Transient(ZaloError):
    pass


class OutcomeUnknown(Transient):
    """The request went out but no answer came back: Zalo may have accepted it."""


class Rejected(ZaloError):
    pass


class OAuthError(ZaloError):
    pass


TOKEN_CODES = {-216, -220, -124}
WINDOW_CODES = {-230, -232, -213}
RATE_CODES = {-32}
QUOTA_CODES = {-211, -115, -126, -144, -1441, -147}
TRANSIENT_CODES = {-214}


def error_for(code: int, message: str = "") -> ZaloError:
    """The typed error for a Zalo error code (OA and ZNS share one negative number space)."""
    for codes, cls in ((TOKEN_CODES, TokenExpired), (WINDOW_CODES, WindowClosed), (RATE_CODES, RateLimited),
                       (QUOTA_CODES, QuotaExceeded), (TRANSIENT_CODES, Transient)):
        if code in codes:
            return cls(code, message)
    return Rejected(code, message)


def check(body: Any) -> dict[str, Any]:
    """The ``data`` of a successful envelope, or the typed error. A body that is not an
    envelope at all is Transient (a proxy's page, a truncated answer)."""
    if not isinstance(body, dict) or "error" not in body:
        raise Transient(0, "unexpected response from Zalo")
    try:
        code = int(body["error"])
    except (TypeError, ValueError):
        raise Transient(0, f"unexpected error field {body['error']!r}") from None
    if code != 0:
        raise error_for(code, str(body.get("message") or ""))
    data = body.get("data")
    return data if isinstance(data, dict) else {"value": data}


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fit_text(text: str, limit: int = CS_TEXT_LIMIT) -> str:
    """NFC-normalised and at most ``limit`` characters, cut kindly at a word with "…"."""
    text = nfc(text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


# --- message bodies (the `message` object of /v3.0/oa/message/cs) ----------------------------


@dataclass(frozen=True, slots=True)
class Button:
    """A button under a consultation message: open a link, send a query back (``oa.query.show``:
    the citizen "types" it), or dial a phone number."""

    title: str
    url: str | None = None
    query: str | None = None
    phone: str | None = None

    def wire(self) -> dict[str, Any]:
        if self.url:
            return {"title": self.title, "type": "oa.open.url", "payload": {"url": self.url}}
        if self.phone:
            return {"title": self.title, "type": "oa.open.phone", "payload": {"phone_code": self.phone}}
        return {"title": self.title, "type": "oa.query.show", "payload": self.query or self.title}

    @classmethod
    def of(cls, value: Button | dict[str, Any]) -> Button:
        if isinstance(value, Button):
            return value
        return cls(title=str(value["title"]), url=value.get("url"), query=value.get("query"),
                   phone=value.get("phone"))


def text_message(text: str, buttons: list[Button] | None = None) -> dict[str, Any]:
    """Text, with buttons as a template attachment (the v3 "text + buttons" form; Zalo's docs
    for CS buttons are UNCONFIRMED in our reference, §1.4 — text stays readable without them)."""
    message: dict[str, Any] = {"text": fit_text(text)}
    if buttons:
        message["attachment"] = {"type": "template",
                                 "payload": {"buttons": [b.wire() for b in buttons[:MAX_BUTTONS]]}}
    return message


def image_message(*, url: str | None = None, attachment_id: str | None = None, caption: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"media_type": "image"}
    if attachment_id:
        element["attachment_id"] = attachment_id
    else:
        element["url"] = url
    message: dict[str, Any] = {"attachment": {"type": "template",
                                              "payload": {"template_type": "media", "elements": [element]}}}
    if caption:
        message["text"] = fit_text(caption)
    return message


@dataclass(frozen=True, slots=True)
class Sent:
    msg_id: str
    sent_time: str | None = None
    quota: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds


class ZaloClient:
    """One per call site; cheap. ``http`` is the runtime's shared ``httpx.AsyncClient``."""

    def __init__(self, http: httpx.AsyncClient, settings: ZaloSettings, *, timeout: float = 10.0) -> None:
        self.http = http
        self.s = settings
        self.timeout = timeout

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            resp = await self.http.request(method, url, timeout=self.timeout, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Transient(0, f"cannot reach Zalo: {exc.__class__.__name__}") from exc
        except httpx.TransportError as exc:  # read timeout, reset mid-answer: it may have been accepted
            raise OutcomeUnknown(0, f"no answer from Zalo: {exc.__class__.__name__}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise Transient(0, f"HTTP {resp.status_code} from Zalo")
        try:
            return resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            if resp.status_code == 404:  # Zalo's "empty api" page: wrong path or missing secret_key
                raise Rejected(0, "HTTP 404 from Zalo (empty api)") from None
            raise Transient(0, f"HTTP {resp.status_code} from Zalo, not JSON") from None

    # --- OA ---------------------------------------------------------------------------------

    async def send_cs(self, token: str, user_id: str, message: dict[str, Any]) -> Sent:
        """A consultation message (tin Tư vấn) to one user; free within 48 h, refused after 7 days."""
        body = {"recipient": {"user_id": user_id}, "message": message}
        data = check(await self._call("POST", f"{self.s.openapi_url}/v3.0/oa/message/cs",
                                      headers={"access_token": token}, json=body))
        return Sent(str(data.get("message_id") or data.get("msg_id") or ""), _str(data.get("sent_time")),
                    data.get("quota"))

    async def upload_image(self, token: str, content: bytes, filename: str = "image.jpg",
                           content_type: str = "image/jpeg") -> str:
        """Upload a jpg/png (≤ 1 MB) and return its ``attachment_id``."""
        data = check(await self._call("POST", f"{self.s.openapi_url}/v2.0/oa/upload/image",
                                      headers={"access_token": token},
                                      files={"file": (filename, content, content_type)}))
        return str(data.get("attachment_id") or "")

    async def user_detail(self, token: str, user_id: str) -> dict[str, Any]:
        """``display_name``, ``avatar``, follow state... of an OA-scoped user id."""
        return check(await self._call("GET", f"{self.s.openapi_url}/v3.0/oa/user/detail",
                                      headers={"access_token": token},
                                      params={"data": json.dumps({"user_id": user_id})}))

    # --- ZNS --------------------------------------------------------------------------------

    async def send_zns(self, token: str, *, phone: str, template_id: str, template_data: dict[str, Any],
                       tracking_id: str, development: bool = False) -> Sent:
        """A template message by phone number (84…); ``tracking_id`` ties receipts to our row."""
        body: dict[str, Any] = {"phone": phone, "template_id": template_id,
                                "template_data": {k: nfc(str(v)) for k, v in template_data.items()},
                                "tracking_id": tracking_id}
        if development:
            body["mode"] = "development"
        data = check(await self._call("POST", f"{self.s.business_url}/message/template",
                                      headers={"access_token": token}, json=body))
        return Sent(str(data.get("msg_id") or ""), _str(data.get("sent_time")), data.get("quota"))

    # --- OAuth v4 ---------------------------------------------------------------------------

    async def _token(self, app_secret: str, form: dict[str, str]) -> TokenPair:
        body = await self._call("POST", f"{self.s.oauth_url}/v4/oa/access_token",
                                headers={"secret_key": app_secret}, data=form)
        # Success only when both tokens are there: the OAuth host's error bodies vary (§2.6).
        if isinstance(body, dict) and body.get("access_token") and body.get("refresh_token"):
            try:
                expires = int(body.get("expires_in") or 90000)
            except (TypeError, ValueError):
                expires = 90000
            return TokenPair(str(body["access_token"]), str(body["refresh_token"]), expires)
        code = body.get("error") if isinstance(body, dict) else None
        try:
            code = int(code) if code is not None else 0
        except (TypeError, ValueError):
            code = 0
        reason = ""
        if isinstance(body, dict):
            reason = str(body.get("error_description") or body.get("error_reason") or body.get("message")
                         or body.get("error_name") or "")
        raise OAuthError(code, reason or "no tokens in the OAuth answer")

    async def exchange_code(self, *, app_id: str, app_secret: str, code: str, code_verifier: str) -> TokenPair:
        return await self._token(app_secret, {"code": code, "app_id": app_id, "grant_type": "authorization_code",
                                              "code_verifier": code_verifier})

    async def refresh(self, *, app_id: str, app_secret: str, refresh_token: str) -> TokenPair:
        return await self._token(app_secret, {"refresh_token": refresh_token, "app_id": app_id,
                                              "grant_type": "refresh_token"})


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
