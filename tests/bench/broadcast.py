"""Benchmark 7: a broadcast to 1,000,000 followers.

    uv run python -m tests.bench.broadcast [--followers 1000000] [--window 60]

One province with a million following citizens (loaded by COPY). An admin creates the broadcast;
``motcua serve`` (simulator) and one ``motcua worker`` run as separate processes. Measured over a
bounded window (all 1M would take hours at Zalo's rate, by design):

- enqueue time: creating the broadcast, and the rate at which its batches are enqueued;
- memory: the worker's resident size sampled every few seconds stays flat (batches of 500 and
  flow control: at most 1,000 unsent messages queued per broadcast);
- send rate: messages accepted by the simulated Zalo per second, against the configured per-OA
  limit (``motcua.channels.zalo.outbox.RATE_PER_SECOND``).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx

from tests.bench.harness import environment, report
from tests.faults.helpers import new_user_id

SLUG = "ca-mau"
SIM_USERS = 4000  # the first followers also exist in the simulator, so their messages are delivered


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main(followers: int, window: float) -> None:
    async with environment() as env:
        from motcua.channels.zalo.outbox import RATE_PER_SECOND
        from motcua.db.database import connect
        from motcua.domain.auth.principal import Principal
        from motcua.domain.broadcasts.service import create_broadcast
        from motcua.testing.zalo import connect_oa

        oa = env.oa(SLUG)
        ids = [new_user_id() for _ in range(followers)]
        owner = await connect(env.database.owner_url)
        t = time.perf_counter()
        await owner.copy_records_to_table(
            "citizen", columns=["tenant_id", "oa_id", "zalo_user_id", "following", "last_interaction_at"],
            records=((SLUG, oa.oa_id, uid, True, None) for uid in ids))
        await owner.execute("UPDATE citizen SET last_interaction_at = now() WHERE tenant_id = $1 AND zalo_user_id = "
                            "ANY($2)", SLUG, ids[:SIM_USERS])
        await owner.execute("ANALYZE citizen")
        load_s = time.perf_counter() - t
        await owner.close()

        web = await env.serve(simulator=True)
        async with httpx.AsyncClient(base_url=web.url, timeout=30) as http:
            await connect_oa(http, env.runtime, SLUG, expires_in=86_400)
            sem = asyncio.Semaphore(16)

            async def sim_user(uid: str) -> None:
                async with sem:
                    r = await http.post("/sim/api/users", json={"tenant": SLUG, "user_id": uid, "follows": True,
                                                                "last_interaction_ago": 0})
                    r.raise_for_status()

            await asyncio.gather(*(sim_user(u) for u in ids[:SIM_USERS]))
            admin = Principal(kind="staff", id=1, email="admin@example.vn", name="Quản trị", role="admin", tenant=SLUG)
            t = time.perf_counter()
            async with env.runtime.db.tenant(SLUG) as conn:
                bid = await create_broadcast(conn, admin, SLUG, title="Thông báo", text="Từ ngày 1/12, Trung tâm "
                                             "Phục vụ hành chính công làm việc cả sáng thứ Bảy.")
            create_ms = (time.perf_counter() - t) * 1000
            worker = env.worker(concurrency=8)
            samples: list[tuple[float, float, int, int]] = []  # (t, rss MB, enqueued, delivered)
            started = time.monotonic()
            while time.monotonic() - started < window:
                await asyncio.sleep(5)
                async with env.runtime.db.tenant(SLUG) as conn:
                    enqueued = await conn.fetchval("SELECT enqueued FROM broadcast WHERE id = $1", bid)
                    # Accepted by the (simulated) Zalo and recorded as sent: the outbox endpoint keeps
                    # only the latest messages, our notification rows keep them all.
                    delivered = await conn.fetchval("SELECT count(*) FROM notification WHERE kind = 'broadcast' "
                                                    "AND status IN ('sent', 'delivered')")
                samples.append((time.monotonic() - started, rss_mb(worker.popen.pid), enqueued, delivered))
            async with env.runtime.db.tenant(SLUG) as conn:
                jobs = {f"{r['kind']}:{r['status']}": r["n"] for r in await conn.fetch(
                    "SELECT kind, status, count(*) AS n FROM job GROUP BY 1, 2")}
            worker.stop()
        steady = [s for s in samples if s[0] >= 15]
        first, last = steady[0], steady[-1]
        send_rate = (last[3] - first[3]) / (last[0] - first[0])
        rss = [s[1] for s in samples]
        report("broadcast to followers", followers=followers, load_copy_s=round(load_s, 1),
               create_broadcast_ms=round(create_ms, 1), window_s=window,
               enqueued_in_window=samples[-1][2], delivered_in_window=samples[-1][3],
               send_rate_per_s=round(send_rate, 1), configured_limit_per_s=RATE_PER_SECOND,
               ratio_to_limit=round(send_rate / RATE_PER_SECOND, 2),
               worker_rss_mb=[round(r) for r in rss], rss_growth_mb=round(rss[-1] - rss[1], 1),
               jobs_at_end=jobs, projected_hours_for_all=round(followers / max(send_rate, 0.001) / 3600, 1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--followers", type=int, default=1_000_000)
    ap.add_argument("--window", type=float, default=60)
    a = ap.parse_args()
    asyncio.run(main(a.followers, a.window))
