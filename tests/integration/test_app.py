"""The web process: health, readiness, metrics, OpenAPI, problem details, JSON logs."""

from __future__ import annotations

import json
import logging

from motcua import logs


async def test_health_and_readiness(http):
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_metrics_are_prometheus_text(http):
    await http.get("/healthz")
    r = await http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert 'motcua_http_requests_total{method="GET",route="/healthz",status="200"}' in r.text


async def test_openapi_document_names_every_operation(http):
    doc = (await http.get("/schema/openapi.json")).json()
    assert doc["info"]["title"] == "Motcua"
    ops = [op for path in doc["paths"].values() for op in path.values() if isinstance(op, dict)]
    assert ops and all(op.get("operationId") for op in ops)


async def test_errors_are_problem_details_with_a_request_id(http):
    r = await http.get("/no/such/page", headers={"X-Request-Id": "req-123"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404
    assert r.headers["x-request-id"] == "req-123"


def test_logs_are_json_and_mask_personal_data(capsys):
    import io

    stream = io.StringIO()
    logs.configure("INFO", stream)
    logs.request_id.set("r1")
    logs.tenant_id.set("ca-mau")
    logging.getLogger("motcua.test").info("citizen 0912345678 id 079203001234 access_token=abc.def")
    entry = json.loads(stream.getvalue().splitlines()[-1])
    assert entry["request_id"] == "r1" and entry["tenant"] == "ca-mau"
    assert "0912345678" not in entry["msg"] and "079203001234" not in entry["msg"] and "abc.def" not in entry["msg"]
    assert "<phone>" in entry["msg"] and "<id-number>" in entry["msg"]


async def test_a_pod_runs_on_the_application_role_alone(database, master_key, tmp_path):
    """Production web and worker pods get only the application role's URL: no embedded server
    is started, and migrating (which needs the owner) is refused with a clear reason."""
    import pytest

    from motcua.runtime import Runtime
    from motcua.settings import Settings

    settings = Settings.from_env({}, app_database_url=database.app_url, master_key=master_key, data_dir=tmp_path)
    rt = await Runtime.start(settings, migrate_db=False)
    try:
        assert rt.embedded is None and rt.owner_url is None
        assert await rt.db.ping()
    finally:
        await rt.close()
    assert not (tmp_path / "pgdata").exists()
    with pytest.raises(RuntimeError, match="owner role"):
        await Runtime.start(settings, migrate_db=True)
