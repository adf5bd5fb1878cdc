"""Dossiers (hồ sơ): our copy of what each province's one-stop system knows, and its timeline.

- ``store``: canonical ``Dossier`` records -> ``dossier``, ``dossier_alias`` and ``dossier_event``
  rows, set-based and idempotent, one ``dossiers.event`` job per new timeline event.
- ``events``: the ``dossiers.event`` job that hands each new event to the subscribers registered
  through ``motcua_register_subscribers`` (the notifier, KPIs, plug-ins).
- ``lookup``: a dossier by code (live from the system when it can, else from our copy with its
  age), by owner (phone / ID number), and which tenant a code belongs to (merged provinces).

How dossiers arrive (polling, pushes, reconciliation) lives in ``motcua.sync``; this folder only
stores and reads them.
"""

from motcua.domain.dossiers.store import (
    PreparedDossier,
    StoredDossier,
    TimelineEvent,
    UpsertResult,
    get_dossier,
    prepare,
    timeline,
    upsert_dossiers,
    upsert_prepared,
)

__all__ = [
    "PreparedDossier", "StoredDossier", "TimelineEvent", "UpsertResult", "get_dossier", "prepare", "timeline",
    "upsert_dossiers", "upsert_prepared",
]
