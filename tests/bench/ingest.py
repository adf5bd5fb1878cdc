"""Benchmarks 1, 2 and 6: webhook ingest, duplicates, and the queue's drain rate.

    uv run python -m tests.bench.ingest [--events 10000] [--concurrency 32] [--drain-seconds 60]

1. ``POST /zalo/{tenant}/webhook`` (verify the signature, store once, enqueue, durable commit,
   200) against a bare Litestar endpoint doing one asyncpg INSERT (``baseline_app``). Target:
   ingest ≥ 0.5 × baseline.
2. The same events sent again (duplicates: verified, found, nothing written) against the new
   events. Target: duplicates ≥ 1.0 × new.
3. (bench 6) One ``motcua worker`` process drains the ``zalo.message`` jobs the ingest left:
   citizen, inbound message, the conversation's answer queued as a reply. Timed from the
   worker's first jobs to the last. Target: drain rate ≥ 1.5 × ingest rate, so the queue never
   grows at full ingest.

Both servers are single uvicorn processes; the load generator is a separate process.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from tests.bench.harness import environment, loadgen, report, signed_requests
from tests.faults.helpers import Proc, free_port


async def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as c:
        while time.monotonic() < deadline:
            try:
                await c.post(url, content=b"{}")
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def main(events: int, concurrency: int, drain_seconds: float) -> None:
    async with environment() as env:
        from motcua.db.database import connect

        conn = await connect(env.database.owner_url)
        await conn.execute("CREATE TABLE bench_bare (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                           "tenant text NOT NULL, payload jsonb NOT NULL, received_at timestamptz DEFAULT now())")
        await conn.close()
        oa = env.oa("ca-mau")

        # Baseline: the bare endpoint, warmed up, then the same number of requests.
        port = free_port()
        bare = Proc(["-c", "pass"], env.env(), env.tmp / "bare.log")
        import subprocess
        import sys

        bare.popen = subprocess.Popen([sys.executable, "-m", "tests.bench.baseline_app", "--port", str(port),
                                       "--dsn", env.database.app_url], env=env.env(), start_new_session=True)
        env.procs.append(bare)
        await wait_http(f"http://127.0.0.1:{port}/bare/ca-mau/webhook")
        warm, _ = signed_requests(oa, 1000)
        for r in warm:
            r["path"] = "/bare/ca-mau/webhook"
        loadgen(warm, port, concurrency=concurrency, tmp=env.tmp)
        base_reqs, _ = signed_requests(oa, events)
        for r in base_reqs:
            r["path"] = "/bare/ca-mau/webhook"
        baseline = loadgen(base_reqs, port, concurrency=concurrency, tmp=env.tmp)
        bare.kill()

        web = await env.serve()
        warm, _ = signed_requests(oa, 1000)
        loadgen(warm, web.port, concurrency=concurrency, tmp=env.tmp)
        reqs, sent = signed_requests(oa, events)
        new = loadgen(reqs, web.port, concurrency=concurrency, tmp=env.tmp)
        dup = loadgen(reqs, web.port, concurrency=concurrency, tmp=env.tmp)
        web.stop()

        async def pending() -> int:
            async with env.runtime.db.tenant("ca-mau") as c:
                return await c.fetchval("SELECT count(*) FROM job WHERE kind = 'zalo.message'")

        queued = await pending()
        worker = env.worker(concurrency=8)
        # The clock starts when the worker has taken its first jobs (not while it starts up).
        deadline = time.monotonic() + drain_seconds
        while (start_left := await pending()) == queued and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        started = time.monotonic()
        while time.monotonic() < deadline and (left := await pending()) > 0:
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - started
        left = await pending()
        worker.stop()
        drained = start_left - left
        drain_rate = drained / elapsed

        report("webhook ingest vs bare insert", events=events, concurrency=concurrency,
               baseline_rps=baseline["rps"], ingest_rps=new["rps"], ratio=round(new["rps"] / baseline["rps"], 2),
               target=0.5, baseline_p99_ms=baseline["p99_ms"], ingest_p50_ms=new["p50_ms"],
               ingest_p99_ms=new["p99_ms"], statuses={"baseline": baseline["statuses"], "ingest": new["statuses"]})
        report("duplicate vs new events", duplicate_rps=dup["rps"], new_rps=new["rps"],
               ratio=round(dup["rps"] / new["rps"], 2), target=1.0, duplicate_p99_ms=dup["p99_ms"],
               statuses=dup["statuses"])
        report("queue drain vs ingest", jobs=queued, drained=drained, seconds=round(elapsed, 1),
               drain_rps=round(drain_rate, 1), ingest_rps=new["rps"], ratio=round(drain_rate / new["rps"], 2),
               target=1.5, worker="1 process, concurrency 8; each event fully processed, its reply queued "
                                  "(replies leave at the OA's rate limit: bench 7)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--drain-seconds", type=float, default=60)
    a = ap.parse_args()
    asyncio.run(main(a.events, a.concurrency, a.drain_seconds))
