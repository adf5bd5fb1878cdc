"""Built-in routes: liveness, readiness, Prometheus metrics. Registered through the same hook as plug-ins."""

from __future__ import annotations

import asyncio

from litestar import MediaType, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from motcua import metrics
from motcua.plugins import hookimpl
from motcua.runtime import Runtime


@get("/healthz", operation_id="Healthz", media_type=MediaType.JSON, sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get("/readyz", operation_id="Readyz", media_type=MediaType.JSON, include_in_schema=False)
async def readyz(runtime: Runtime) -> Response[dict[str, str]]:
    """Readiness: the database answers within two seconds."""
    try:
        ok = await asyncio.wait_for(runtime.db.ping(), 2.5)
    except Exception:  # noqa: BLE001 - any failure means not ready
        ok = False
    if ok:
        return Response({"status": "ok", "database": "ok"})
    return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)


@get("/metrics", operation_id="Metrics", include_in_schema=False)
async def prometheus_metrics(runtime: Runtime) -> Response[bytes]:
    try:
        async with runtime.db.system() as conn:
            rows = await conn.fetch("SELECT * FROM motcua_queue_depth()")
        metrics.QUEUE_DEPTH.clear()
        for r in rows:
            metrics.QUEUE_DEPTH.labels(r["tenant_id"], r["kind"], r["status"]).set(r["jobs"])
    except Exception:  # noqa: BLE001 - metrics still answer when the database does not
        pass
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@hookimpl
def motcua_register_routes(registry) -> None:
    registry.add(healthz)
    registry.add(readyz)
    registry.add(prometheus_metrics)
