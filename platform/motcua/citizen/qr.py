"""The QR code a one-stop system prints on the paper receipt: it opens the dossier's status page.

``GET /api/v1/tenants/{tenant}/dossiers/{code}/qr.svg`` and ``.../qr.png``, for the one-stop
system only: it authenticates with the tenant's QR API key, sent as ``X-Api-Key: <key>`` or
``Authorization: Bearer <key>``. The key is a secret named in the tenant file::

    [adapter.secrets]
    qr_api_key_env = "CA_MAU_QR_API_KEY"   # stored encrypted as secret "adapter.qr_api_key"

A tenant that names no such secret falls back to its push adapter's ``api_key`` secret (the
key its one-stop system already holds); with neither, the API answers 404 "not configured".
The dossier need not be synced yet: the receipt is printed at reception, before any sync.
"""

from __future__ import annotations

import hmac
import io

import segno
from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException, NotFoundException

from motcua.crypto import get_secret
from motcua.domain.conversation.dossier import status_link
from motcua.onestop.codes import normalize_code
from motcua.runtime import Runtime

KEY_PURPOSES = ("adapter.qr_api_key", "adapter.api_key")


async def _authorize(runtime: Runtime, tenant: str, request: Request) -> None:
    if await runtime.tenant(tenant) is None:
        raise NotFoundException("Không có tỉnh này.")
    async with runtime.db.tenant(tenant) as conn:
        keys = [k for k in [await get_secret(conn, runtime.crypto, tenant, p) for p in KEY_PURPOSES] if k]
    if not keys:
        raise NotFoundException("Tỉnh chưa cấu hình khóa API cho mã QR (adapter.secrets.qr_api_key_env).")
    sent = request.headers.get("x-api-key") or ""
    auth = request.headers.get("authorization") or ""
    if not sent and auth.lower().startswith("bearer "):
        sent = auth[7:].strip()
    # Only the first configured key is valid: the fallback applies when no QR key is named.
    if not sent or not hmac.compare_digest(sent.encode(), keys[0].encode()):
        raise NotAuthorizedException("Thiếu hoặc sai khóa API (X-Api-Key).")


def _qr(runtime: Runtime, tenant: str, code: str) -> segno.QRCode:
    key = normalize_code(code)
    if len(key) < 8 or len(code) > 80:
        raise NotFoundException("Mã hồ sơ không hợp lệ.")
    # Error correction M: survives a smudged receipt, still small on a thermal printer.
    return segno.make(status_link(runtime, tenant, code.strip(), key), error="m", micro=False)


@get("/api/v1/tenants/{tenant:str}/dossiers/{code:str}/qr.svg", operation_id="DossierQrSvg",
     summary="QR code (SVG) of a dossier's status page, for the paper receipt", tags=["receipts"])
async def qr_svg(runtime: Runtime, tenant: str, code: str, request: Request) -> Response[bytes]:
    await _authorize(runtime, tenant, request)
    out = io.BytesIO()
    _qr(runtime, tenant, code).save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return Response(out.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=86400"})


@get("/api/v1/tenants/{tenant:str}/dossiers/{code:str}/qr.png", operation_id="DossierQrPng",
     summary="QR code (PNG) of a dossier's status page, for the paper receipt", tags=["receipts"])
async def qr_png(runtime: Runtime, tenant: str, code: str, request: Request, scale: int = 6) -> Response[bytes]:
    await _authorize(runtime, tenant, request)
    out = io.BytesIO()
    _qr(runtime, tenant, code).save(out, kind="png", scale=max(1, min(scale, 20)), border=2)
    return Response(out.getvalue(), media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})
