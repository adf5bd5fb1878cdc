"""The procedure catalogue as a small public JSON API (the Mini App's guide pages, the web):
ranked search that forgives accents and typos, and the procedure card."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.exceptions import NotFoundException, ValidationException

from motcua.domain.procedures import service as procedures
from motcua.runtime import Runtime


def _card(p: procedures.ProcedureCard) -> dict[str, Any]:
    return {"code": p.code, "name": p.name, "sector": p.sector, "agency": {"code": p.agency_code, "name": p.agency_name},
            "processing_days": p.processing_days, "processing_time": procedures.days_text(p.processing_days),
            "fee": p.fee, "online": p.online, "level": p.level,
            "papers": [{"name": x.get("name"), "copies": x.get("copies", 1), "required": x.get("required", True)}
                       for x in p.papers]}


@get("/api/v1/tenants/{tenant:str}/procedures", operation_id="SearchProcedures", tags=["procedures"],
     summary="Search the province's procedures (accents and small typos do not matter)")
async def search_procedures(runtime: Runtime, tenant: str, q: str = "", limit: int = 10) -> dict[str, Any]:
    if await runtime.tenant(tenant) is None:
        raise NotFoundException("Không có tỉnh này.")
    if not q.strip():
        raise ValidationException("Xin nhập tên thủ tục cần tìm (tham số q).")
    async with runtime.db.tenant(tenant) as conn:
        found = await procedures.search(conn, tenant, q, limit=max(1, min(limit, 50)))
    return {"query": q, "results": [_card(p) for p in found]}


@get("/api/v1/tenants/{tenant:str}/procedures/{code:str}", operation_id="GetProcedure", tags=["procedures"],
     summary="A procedure card: papers, fee, processing time, agency, online or not")
async def get_procedure(runtime: Runtime, tenant: str, code: str) -> dict[str, Any]:
    if await runtime.tenant(tenant) is None:
        raise NotFoundException("Không có tỉnh này.")
    async with runtime.db.tenant(tenant) as conn:
        card = await procedures.card(conn, tenant, code)
    if card is None:
        raise NotFoundException("Không tìm thấy thủ tục có mã này.")
    return _card(card)


@get("/api/v1/tenants/{tenant:str}/oa-menu", operation_id="GetOaMenu", tags=["zalo"],
     summary="The OA menu items to configure in Zalo's OA admin: each sends a text the bot understands")
async def get_oa_menu(runtime: Runtime, tenant: str) -> dict[str, Any]:
    from motcua.domain.conversation.service import oa_menu

    cfg = await runtime.tenant(tenant)
    if cfg is None:
        raise NotFoundException("Không có tỉnh này.")
    return {"tenant": tenant, "items": oa_menu(cfg, dict(runtime.plugins.utilities), runtime.settings.public_url, tenant)}


ROUTES = (search_procedures, get_procedure, get_oa_menu)
