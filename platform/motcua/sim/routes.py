"""The simulator's router: Zalo's APIs at their production paths, the control API and the
phone page, all under ``/sim`` and left out of Motcua's OpenAPI document."""

from __future__ import annotations

from litestar import Router

from motcua.sim import api, oauth, openapi, page


def sim_router() -> Router:
    return Router(path="/sim", route_handlers=[*openapi.HANDLERS, *oauth.HANDLERS, *api.HANDLERS, *page.HANDLERS],
                  include_in_schema=False, tags=["simulator"])
