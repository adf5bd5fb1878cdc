"""The sync part's JSON API: a tenant's sync health, for the admin console and operators."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from motcua.runtime import Runtime
from motcua.sync.engine import SyncHealth, health
from motcua.sync.push import problem


@get("/api/v1/tenants/{tenant:str}/sync", operation_id="GetSyncHealth",
     summary="Tình trạng đồng bộ hồ sơ của một tỉnh",
     description="Last successful sync, lag in seconds, last error, consecutive failures, quarantined records.")
async def get_sync_health(tenant: str, runtime: Runtime) -> Response[SyncHealth | dict[str, Any]]:
    found = await health(runtime, tenant)
    if found is None:
        return problem(404, "Not Found", f"Không có tỉnh/thành '{tenant}' trên Motcua.")
    return Response(found)
