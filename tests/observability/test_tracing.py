"""One citizen message, one trace: the webhook request, the ``zalo.message`` job that reads it, the
``zalo.send`` job that answers, and the HTTP call to Zalo's send API all share a trace id, each
span a descendant of the webhook's. Spans hold no personal data."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from motcua import tracing
from motcua.jobs.queue import enqueue

from ..faults.helpers import citizen_says, connect_oa, drain, new_user_id, outbox

SLUG = "ca-mau"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    tracing.configure(exporter, batch=False)
    yield exporter
    tracing.shutdown()


@pytest.fixture
def not_asked():
    if tracing.wanted():
        pytest.skip("this session was started with MOTCUA_TRACING or OTEL_EXPORTER_OTLP_ENDPOINT set")


def test_tracing_is_off_unless_asked(not_asked):
    assert not tracing.wanted({})
    assert tracing.wanted({"MOTCUA_TRACING": "1"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert not tracing.wanted({"MOTCUA_TRACING": "0"})
    assert not tracing.enabled()
    assert tracing.inject_payload({"a": 1}) == {"a": 1}  # nothing added when off


async def test_off_means_no_trace_in_job_payloads(runtime, tenants, not_asked):
    assert not tracing.enabled()
    async with runtime.db.tenant(SLUG) as conn:
        jid = await enqueue(conn, SLUG, "tests.noop", {"x": 1})
        payload = await conn.fetchval("SELECT payload FROM job WHERE tenant_id = $1 AND id = $2", SLUG, jid)
        await conn.execute("DELETE FROM job WHERE tenant_id = $1 AND id = $2", SLUG, jid)
    assert payload == {"x": 1}


async def test_one_trace_from_webhook_to_the_reply_sent_to_zalo(http, runtime, tenants, spans):
    await connect_oa(http, runtime, SLUG)
    await drain(runtime)
    spans.clear()
    user = new_user_id()
    said = await citizen_says(http, SLUG, "Xin chào, tôi muốn hỏi thủ tục khai sinh", user)
    assert said["status_code"] == 200
    await drain(runtime)
    assert await outbox(http, tenant=SLUG, user_id=user), "no reply reached the simulator"

    finished = spans.get_finished_spans()
    # The citizen's message is the first webhook; Zalo then posts the echo and the receipt of
    # our reply as webhooks of their own (traces of their own).
    webhooks = sorted((s for s in finished if s.kind.name == "SERVER" and s.attributes.get("http.route", "").startswith(
        "/zalo/") and s.attributes.get("motcua.tenant") == SLUG), key=lambda s: s.start_time)
    assert webhooks, [s.name for s in finished]
    webhook = webhooks[0]
    trace_id = webhook.context.trace_id
    assert all(s.context.trace_id != trace_id for s in webhooks[1:])
    same = [s for s in finished if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in same}

    def chain(s) -> list[str]:
        names = [s.name]
        while s.parent is not None and s.parent.span_id in by_id:
            s = by_id[s.parent.span_id]
            names.append(s.name)
        return names

    event_jobs = [s for s in same if s.name == "job zalo.message"]
    send_jobs = [s for s in same if s.name == "job zalo.send"]
    calls = [s for s in same if s.kind.name == "CLIENT" and s.attributes.get("url.path", "").endswith("/oa/message/cs")]
    print(f"\ntrace {trace_id:032x}: " + "; ".join(" <- ".join(chain(s)) for s in calls))
    assert event_jobs, "the zalo.message job did not continue the webhook's trace"
    assert send_jobs, "the zalo.send job did not continue the trace"
    assert calls, "the call to Zalo's send API is not in the trace"
    assert chain(calls[0])[-1] == webhook.name  # the send descends from the webhook request
    assert all(s.attributes.get("motcua.job.outcome") == "done" for s in event_jobs + send_jobs)
    # No personal data in span names or attributes: not the citizen's id, not their words.
    for s in same:
        text = s.name + " " + " ".join(f"{k}={v}" for k, v in (s.attributes or {}).items())
        assert user not in text and "khai sinh" not in text, text


async def test_the_trace_context_is_not_handed_to_job_handlers(runtime, tenants, spans):
    seen: list[dict] = []

    async def handler(job, ctx):
        seen.append(job.payload)

    runtime.plugins.jobs.register("tests.traced", handler)
    with tracing.span("caller"):
        async with runtime.db.tenant(SLUG) as conn:
            jid = await enqueue(conn, SLUG, "tests.traced", {"x": 1})
            stored = await conn.fetchval("SELECT payload FROM job WHERE tenant_id = $1 AND id = $2", SLUG, jid)
    assert stored["x"] == 1 and stored[tracing.TRACE_KEY].startswith("00-")
    await drain(runtime)
    assert seen == [{"x": 1}]
    caller = next(s for s in spans.get_finished_spans() if s.name == "caller")
    job = next(s for s in spans.get_finished_spans() if s.name == "job tests.traced")
    assert job.context.trace_id == caller.context.trace_id and job.parent.span_id == caller.context.span_id
