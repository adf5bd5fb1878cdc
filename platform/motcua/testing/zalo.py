"""Test support for the Zalo channel: connect an OA to the simulator as the OAuth flow would."""

from __future__ import annotations

from typing import Any

import httpx


async def connect_oa(http: httpx.AsyncClient, runtime: Any, slug: str, **seed: Any) -> dict[str, Any]:
    """Ask the simulator (over ``http``, which points at the web app serving ``/sim``) for a
    token pair and store it in Motcua, encrypted, as the OAuth callback does. ``seed`` goes to
    ``POST /sim/api/tokens/{slug}`` (``expires_in``, ``rotate``). Returns the pair."""
    from motcua.channels.zalo import tokens
    from motcua.channels.zalo.client import TokenPair

    r = await http.post(f"/sim/api/tokens/{slug}", json=seed)
    r.raise_for_status()
    pair = r.json()
    async with runtime.db.tenant(slug) as conn:
        await tokens.store_tokens(conn, runtime, slug, pair["oa_id"],
                                  TokenPair(pair["access_token"], pair["refresh_token"], int(pair["expires_in"])))
    return pair
