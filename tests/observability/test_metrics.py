"""``/metrics`` after real traffic: a citizen writes through the simulator, the worker answers,
Zalo refuses one send, the one-stop system is polled. Every metric the operator's dashboard
needs is there, labelled with the tenant it belongs to."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from motcua.jobs.queue import enqueue

from ..faults.helpers import citizen_says, connect_oa, drain, new_user_id, outbox

SLUG = "ca-mau"


async def scrape(http) -> dict[str, list]:
    r = await http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples.setdefault(s.name, []).append(s)
    return samples


def value(samples: dict[str, list], name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


def tenants_of(samples: dict[str, list], name: str) -> set[str]:
    return {s.labels.get("tenant") for s in samples.get(name, [])}


async def test_metrics_after_real_traffic_carry_tenant_labels(http, runtime, tenants):
    await connect_oa(http, runtime, SLUG)
    await drain(runtime)  # the tenants' first sync polls (tenants.applied → sync.poll) run here
    before = await scrape(http)

    # Zalo refuses the first send (rate limit, -32); the reply is retried later.
    r = await http.post("/sim/api/faults", json={"mode": "rate_limit", "count": 1, "endpoints": ["message/cs"],
                                                 "tenant": SLUG})
    assert r.status_code == 200, r.text
    refused = await citizen_says(http, SLUG, "xin chào", new_user_id())
    assert refused["status_code"] == 200
    await drain(runtime)
    await http.delete("/sim/api/faults")
    user = new_user_id()
    said = await citizen_says(http, SLUG, "xin chào", user)
    assert said["status_code"] == 200
    await drain(runtime)
    assert await outbox(http, tenant=SLUG, user_id=user), "the second citizen got no reply"

    # A job waiting in the future shows in the queue depth at the next scrape.
    async with runtime.db.tenant(SLUG) as conn:
        from datetime import UTC, datetime, timedelta

        await enqueue(conn, SLUG, "tests.later", {}, run_at=datetime.now(UTC) + timedelta(hours=1))
    after = await scrape(http)

    assert value(after, "motcua_webhook_requests_total", tenant=SLUG, source="zalo", outcome="accepted") >= \
        value(before, "motcua_webhook_requests_total", tenant=SLUG, source="zalo", outcome="accepted") + 2
    assert value(after, "motcua_webhook_seconds_count", tenant=SLUG, source="zalo") >= 2
    assert value(after, "motcua_events_processed_total", tenant=SLUG, source="zalo") >= 2
    assert value(after, "motcua_jobs_total", tenant=SLUG, kind="zalo.message", outcome="done") >= \
        value(before, "motcua_jobs_total", tenant=SLUG, kind="zalo.message", outcome="done") + 2
    assert value(after, "motcua_jobs_total", tenant=SLUG, kind="zalo.send", outcome="retry") >= 1
    assert value(after, "motcua_job_seconds_count", kind="zalo.send") >= 2
    assert value(after, "motcua_queue_depth", tenant=SLUG, kind="tests.later", status="queued") >= 1
    assert value(after, "motcua_sends_total", tenant=SLUG, channel="cs", status="sent") >= \
        value(before, "motcua_sends_total", tenant=SLUG, channel="cs", status="sent") + 1
    assert value(after, "motcua_zalo_errors_total", tenant=SLUG, code="-32") >= 1
    assert value(after, "motcua_adapter_calls_total", tenant=SLUG) >= 1
    assert value(after, "motcua_adapter_seconds_count", tenant=SLUG) >= 1
    assert SLUG in tenants_of(after, "motcua_sync_lag_seconds")

    # Tenant labels are real slugs, never empty, and more than one province shows up.
    for name in ("motcua_webhook_requests_total", "motcua_jobs_total", "motcua_adapter_calls_total"):
        labels = tenants_of(after, name)
        assert None not in labels and "" not in labels, (name, labels)
    assert len(tenants_of(after, "motcua_adapter_calls_total")) >= 2

    async with runtime.db.tenant(SLUG) as conn:
        await conn.execute("DELETE FROM job WHERE tenant_id = $1 AND kind = 'tests.later'", SLUG)
