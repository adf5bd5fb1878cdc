"""The push system's JSON, as it sends it: REST answers and signed push events (onestop.md §7.3 C).
Statuses are the national portal's string codes (``receiving``, ``new``, ``processing``, ...).
Lenient: unknown fields are ignored; dates stay strings until mapping.py parses them."""

from __future__ import annotations

import msgspec


class PushDossier(msgspec.Struct, kw_only=True):
    dossierCode: str
    statusCode: str
    statusName: str | None = None
    procedureCode: str | None = None
    procedureName: str | None = None
    agencyCode: str | None = None
    agencyName: str | None = None
    handler: str | None = None
    applicantName: str | None = None
    applicantPhone: str | None = None
    applicantIdNumber: str | None = None
    channel: str | None = None  # counter | online | post
    submittedAt: str | None = None
    receivedAt: str | None = None
    dueAt: str | None = None
    finishedAt: str | None = None
    returnedAt: str | None = None
    updatedAt: str | None = None
    missingPapers: list[str] = []
    note: str | None = None


class PushEvent(msgspec.Struct, kw_only=True):
    eventId: str
    occurredAt: str | None = None
    dossier: msgspec.Raw


class PushEventBatch(msgspec.Struct, kw_only=True):
    """A push body carrying several events under ``events``; without it the body is one ``PushEvent``."""

    events: list[PushEvent] | None = None


class PushChanges(msgspec.Struct, kw_only=True):
    items: list[msgspec.Raw] = []
    page: int = 0
    hasMore: bool = False
    windowEnd: str | None = None


class PushReceipt(msgspec.Struct, kw_only=True):
    dossierCode: str
    statusCode: str | None = None
    receivedAt: str | None = None
    dueAt: str | None = None
