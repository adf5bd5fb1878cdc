"""The phone page at ``/sim/``: a person picks a province's OA, follows it, chats as a citizen
and sees the OA's replies and ZNS messages arrive (the page polls ``/sim/api/transcript``).
Server-rendered HTML with a little vanilla JS; no build step."""

from __future__ import annotations

from importlib import resources

from litestar import Response, get
from litestar.enums import MediaType


@get(["/", "/phone"], operation_id="SimPhone")
async def phone() -> Response[str]:
    html = resources.files("motcua.sim").joinpath("static/phone.html").read_text(encoding="utf-8")
    return Response(html, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"})


HANDLERS = [phone]
