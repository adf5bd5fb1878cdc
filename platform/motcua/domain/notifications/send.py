"""The one place citizen-services code sends a message: the Zalo channel's ``queue_message``,
called inside the caller's transaction, so the message is durable with the change that caused it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from motcua.domain.conversation.text import fit


def url_button(title: str, url: str) -> dict[str, Any]:
    return {"title": title, "url": url}


def query_button(title: str, text: str) -> dict[str, Any]:
    """A button that, when tapped, sends ``text`` as if the citizen typed it."""
    return {"title": title, "query": text}


async def send(conn: asyncpg.Connection, runtime: Any, tenant_id: str, citizen_id: int, *, kind: str, text: str,
               dedupe_key: str, buttons: Sequence[dict[str, Any]] = (), dossier_id: int | None = None,
               zns: tuple[str, dict[str, Any]] | None = None) -> Any:
    from motcua.channels.zalo.outbox import queue_message

    # Zalo allows at most five buttons on a message.
    return await queue_message(conn, runtime, tenant_id, citizen_id, kind=kind, text=fit(text),
                               buttons=list(buttons)[:5], dossier_id=dossier_id, dedupe_key=dedupe_key, zns=zns)
