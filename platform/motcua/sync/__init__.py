"""Dossier sync: how each province's dossiers reach our copy.

- ``engine``: the poll (change feed from a durable cursor, page by page, crash-safe) and the
  tenant's sync health.
- ``push``: ``POST /onestop/{tenant}/events``, stored once and applied by the worker.
- ``procedures``: the procedure catalogue upsert.
- ``jobs``: ``tenants.applied`` keeps each tenant's schedules (poll every 5 minutes, nightly
  reconciliation for pushing systems, daily catalogue); the handlers for those jobs.
- ``calls``: every adapter call bounded by a timeout and counted in the metrics.
- ``api``: ``GET /api/v1/tenants/{tenant}/sync``; ``cli``: ``motcua sync TENANT [--since]``.

Storing dossiers and their timeline, and looking them up, live in ``motcua.domain.dossiers``.
"""
