"""Benchmark 4: a citizen's message to the reply received by the (simulated) Zalo, at a sustained
rate: p50 and p99.

    uv run python -m tests.bench.reply_latency [--rate 20] [--seconds 20]

``motcua serve`` (with the simulator) and ``motcua worker`` run as separate processes on a fresh
database; the bench process posts signed webhooks at a steady rate and reads the simulator's
outbox, where each reply is stamped when Zalo would have accepted it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from tests.bench.harness import environment, report
from tests.faults.helpers import sim_users

SLUG = "ca-mau"


async def main(rate: float, seconds: float) -> None:
    async with environment() as env:
        from motcua.testing.zalo import connect_oa

        web = await env.serve(simulator=True)
        worker = env.worker(concurrency=8)
        async with httpx.AsyncClient(base_url=web.url, timeout=10) as http:
            await connect_oa(http, env.runtime, SLUG, expires_in=86_400)
            oa = env.oa(SLUG)
            total = int(rate * seconds)
            users = await sim_users(http, SLUG, total + 20)
            sent: dict[str, float] = {}

            async def post(user: str) -> None:
                body, headers = oa.signed(oa.text_event(user, "xin chào, cho tôi hỏi thủ tục khai sinh"))
                sent[user] = time.time()
                r = await http.post(oa.path, content=body, headers=headers)
                assert r.status_code == 200, r.text

            for u in users[:20]:  # warm-up, not measured
                await post(u)
            await asyncio.sleep(3)
            since = max([m["seq"] for m in (await http.get("/sim/api/outbox")).json()] or [0])
            measured = users[20:]
            started = time.monotonic()
            tasks = []
            for i, u in enumerate(measured):
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post(u)))
            await asyncio.gather(*tasks)
            replies: dict[str, float] = {}
            deadline = time.monotonic() + 60
            while len(replies) < len(measured) and time.monotonic() < deadline:
                for m in (await http.get("/sim/api/outbox", params={"since": since, "tenant": SLUG})).json():
                    if m.get("user_id") in sent and m["user_id"] not in replies:
                        replies[m["user_id"]] = m["time"] / 1000
                await asyncio.sleep(0.5)
        missing = [u for u in measured if u not in replies]
        why = []
        async with env.runtime.db.tenant(SLUG) as conn:
            for u in missing[:5]:  # what became of a message that got no reply
                why.append(dict(await conn.fetchrow(
                    "SELECT (SELECT count(*) FROM webhook_event w WHERE w.payload #>> '{sender,id}' = $1) AS events, "
                    "(SELECT string_agg(n.status || ':' || coalesce(n.error_reason, ''), ',') FROM notification n "
                    " JOIN citizen c ON c.tenant_id = n.tenant_id AND c.id = n.citizen_id WHERE c.zalo_user_id = $1) "
                    "AS notifications", u)))
        worker.stop()
        latencies = sorted(replies[u] - sent[u] for u in measured if u in replies)
        report("citizen message to reply received", rate_per_s=rate, seconds=seconds, messages=len(measured),
               replied=len(latencies), p50_ms=round(statistics.median(latencies) * 1000),
               p99_ms=round(latencies[int(0.99 * (len(latencies) - 1))] * 1000), max_ms=round(latencies[-1] * 1000),
               missing=why, setup="serve + worker (concurrency 8) processes, simulator in the web process")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=20)
    ap.add_argument("--seconds", type=float, default=20)
    a = ap.parse_args()
    asyncio.run(main(a.rate, a.seconds))
