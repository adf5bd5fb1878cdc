"""Citizens as the Zalo channel sees them: one row per Zalo user per OA (``citizen``).

Personal data shared with consent (``user_submit_info``) is sealed: ``phone_enc`` and
``address_enc`` with ``crypto.seal`` under the purposes below, and ``phone_key`` is the keyed
hash ``crypto.lookup_key(tenant, "phone", normalize_phone(phone))`` that finds a citizen's
dossiers without storing the number. Other parts read the phone with ``citizen_phone``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from motcua.crypto import normalize_phone

if TYPE_CHECKING:
    import asyncpg

    from motcua.crypto import Crypto

PHONE = "citizen.phone"
ADDRESS = "citizen.address"


async def upsert(conn: asyncpg.Connection, slug: str, oa_id: str, user_id: str, *, by_app: str | None = None,
                 interaction_at: datetime | None = None) -> tuple[int, bool]:
    """(the citizen's id, whether they were new), created on first sight. ``interaction_at``
    moves the last interaction (which opens the free reply window) forward, never back."""
    return (await upsert_many(conn, slug, oa_id, {user_id: (by_app, interaction_at)}))[user_id]


async def upsert_many(conn: asyncpg.Connection, slug: str, oa_id: str,
                      users: dict[str, tuple[str | None, datetime | None]]) -> dict[str, tuple[int, bool]]:
    """``upsert`` for several Zalo users at once (``{user_id: (by_app, interaction_at)}``), in
    one statement. Rows are locked in user id order, so concurrent batches cannot deadlock."""
    ids = sorted(users)
    rows = await conn.fetch(
        """INSERT INTO citizen (tenant_id, oa_id, zalo_user_id, user_id_by_app, last_interaction_at)
           SELECT $1, $2, u, b, t FROM unnest($3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS x(u, b, t, o)
           ORDER BY o
           ON CONFLICT (tenant_id, oa_id, zalo_user_id) DO UPDATE SET
             user_id_by_app = coalesce(excluded.user_id_by_app, citizen.user_id_by_app),
             last_interaction_at = greatest(citizen.last_interaction_at, excluded.last_interaction_at)
           RETURNING id, zalo_user_id, xmax = 0 AS inserted""",
        slug, oa_id, ids, [users[u][0] for u in ids], [users[u][1] for u in ids])
    return {r["zalo_user_id"]: (r["id"], r["inserted"]) for r in rows}


async def save_info(conn: asyncpg.Connection, crypto: Crypto, slug: str, citizen_id: int, info: dict[str, str],
                    at: datetime) -> None:
    """Name, phone and address the citizen chose to share; phone and address sealed."""
    phone = normalize_phone(info.get("phone", ""))
    await conn.execute(
        """UPDATE citizen SET display_name = coalesce($3, display_name),
             phone_enc = coalesce($4, phone_enc), phone_key = coalesce($5, phone_key),
             address_enc = coalesce($6, address_enc), consent_at = $7, erased_at = NULL
           WHERE tenant_id = $1 AND id = $2""",
        slug, citizen_id, info.get("name") or None,
        crypto.seal(slug, PHONE, phone) if phone else None,
        crypto.lookup_key(slug, "phone", phone) if phone else None,
        crypto.seal(slug, ADDRESS, info["address"]) if info.get("address") else None, at)


async def erase(conn: asyncpg.Connection, slug: str, citizen_id: int, user_id: str) -> None:
    """The citizen withdrew consent (``user_withdraw``): their personal data goes — profile,
    messages, message bodies, and the raw events that carried them. Delivery statistics stay."""
    await conn.execute(
        """UPDATE citizen SET display_name = NULL, phone_enc = NULL, phone_key = NULL, address_enc = NULL,
             consent_at = NULL, erased_at = now() WHERE tenant_id = $1 AND id = $2""", slug, citizen_id)
    await conn.execute("DELETE FROM message WHERE tenant_id = $1 AND citizen_id = $2", slug, citizen_id)
    await conn.execute(
        """UPDATE notification SET body = '{}', status = CASE WHEN status = 'queued' THEN 'skipped' ELSE status END,
             error_reason = CASE WHEN status = 'queued' THEN 'citizen withdrew consent' ELSE error_reason END
           WHERE tenant_id = $1 AND citizen_id = $2""", slug, citizen_id)
    await conn.execute(
        """UPDATE webhook_event SET payload = jsonb_build_object('event_name', event_name, 'erased', true)
           WHERE tenant_id = $1 AND source = 'zalo' AND $2 IN (payload #>> '{sender,id}', payload #>> '{recipient,id}',
             payload #>> '{follower,id}', payload ->> 'user_id')""", slug, user_id)


async def citizen_phone(conn: asyncpg.Connection, crypto: Crypto, slug: str, citizen_id: int) -> str | None:
    """The phone (84…) the citizen shared with consent, or None."""
    sealed = await conn.fetchval("SELECT phone_enc FROM citizen WHERE tenant_id = $1 AND id = $2 "
                                 "AND consent_at IS NOT NULL AND erased_at IS NULL", slug, citizen_id)
    return crypto.open(slug, PHONE, sealed) if sealed else None
