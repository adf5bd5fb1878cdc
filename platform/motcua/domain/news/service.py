"""Published news and FAQ entries, paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass
class Article:
    id: int
    title: str
    summary: str
    link: str | None
    image_url: str | None
    published_at: datetime


async def latest(conn: asyncpg.Connection, tenant_id: str, *, limit: int = 10, offset: int = 0) -> list[Article]:
    rows = await conn.fetch(
        """SELECT id, title, summary, link, image_url, published_at FROM news
           WHERE tenant_id = $1 AND published_at IS NOT NULL AND published_at <= now()
           ORDER BY published_at DESC, id DESC LIMIT $2 OFFSET $3""", tenant_id, limit, offset)
    return [Article(r["id"], r["title"], r["summary"], r["link"], r["image_url"], r["published_at"]) for r in rows]


async def count(conn: asyncpg.Connection, tenant_id: str) -> int:
    return await conn.fetchval("SELECT count(*) FROM news WHERE tenant_id = $1 AND published_at IS NOT NULL "
                               "AND published_at <= now()", tenant_id)


async def faq_page(conn: asyncpg.Connection, tenant_id: str, *, limit: int, offset: int) -> tuple[list[asyncpg.Record], int]:
    rows = await conn.fetch(
        """SELECT id, question, answer FROM faq WHERE tenant_id = $1 AND published
           ORDER BY position, id LIMIT $2 OFFSET $3""", tenant_id, limit, offset)
    total = await conn.fetchval("SELECT count(*) FROM faq WHERE tenant_id = $1 AND published", tenant_id)
    return list(rows), total
