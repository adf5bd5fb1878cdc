"""HTTP plumbing shared by adapters that talk to their system over HTTP.

``HttpAdapter`` gives a lazily created ``self.http`` (an ``httpx.AsyncClient`` closed by
``aclose``) and ``send()``, which turns transport trouble into the contract's errors so every
family classifies failures the same way: timeouts, connection errors and 5xx are
``Unavailable`` (retry later), 4xx is ``Rejected`` (a person must act), and a body that cannot be
parsed is ``Malformed``. Protocol details (tokens, envelopes) stay in each family.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from motcua.onestop.contract import Adapter, Malformed, Rejected, Unavailable

DEFAULT_TIMEOUT_SECONDS = 10.0


class HttpAdapter(Adapter):
    """An adapter whose system answers over HTTP at ``settings.base_url``."""

    _http: httpx.AsyncClient | None = None

    @property
    def timeout(self) -> float:
        return float(getattr(self.settings, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS))

    def make_client(self) -> httpx.AsyncClient:
        """Build the client; families override this (igate returns an OAuth2 client)."""
        return httpx.AsyncClient(base_url=str(self.settings.base_url).rstrip("/"),
                                 timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)))

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self.make_client()
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            client, self._http = self._http, None
            await client.aclose()

    async def send(self, method: str, url: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        """One request; statuses in ``ok`` (besides 2xx) are returned to the caller (e.g. 404)."""
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise Unavailable(f"hệ thống một cửa không trả lời kịp ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise Unavailable(f"không kết nối được hệ thống một cửa ({type(exc).__name__})") from exc
        return check_status(response, ok)


def check_status(response: httpx.Response, ok: tuple[int, ...] = ()) -> httpx.Response:
    if response.status_code in ok or response.is_success:
        return response
    if response.status_code >= 500 or response.status_code == 429:
        raise Unavailable(f"hệ thống một cửa báo lỗi {response.status_code}")
    raise Rejected(f"hệ thống một cửa từ chối yêu cầu ({response.status_code}): {response.text[:200]}")


def decode_json(content: bytes, type: Any) -> Any:  # noqa: A002 - mirrors msgspec's own name
    """Decode a body into wire Structs; anything that does not parse is ``Malformed``."""
    try:
        return msgspec.json.decode(content, type=type)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Malformed(f"câu trả lời không đọc được: {exc}") from exc
