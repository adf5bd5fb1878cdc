"""A small HTTP/1.1 load generator, run as its own process so it does not share the server's
interpreter: ``python -m tests.bench.loadgen REQUESTS.jsonl --port P --concurrency C``.

Each line of the requests file is ``{"method", "path", "headers", "body"}``; every request is
sent once, in order, over ``C`` keep-alive connections (raw asyncio streams: httpx would be the
bottleneck, not the server). Prints one JSON line: count, seconds, rps, statuses, latency
percentiles in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time


def build(line: str, host: str) -> bytes:
    r = json.loads(line)
    body = r.get("body", "").encode()
    headers = {"Host": host, "Content-Length": str(len(body)), "Connection": "keep-alive", **r.get("headers", {})}
    head = f"{r.get('method', 'POST')} {r['path']} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + body


async def worker(host: str, port: int, requests: list[bytes], next_index, statuses: dict[int, int],
                 latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (i := next_index()) is not None:
            started = time.perf_counter()
            writer.write(requests[i])
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:].strip())
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            code = int(status_line.split()[1]) if status_line else 0
            statuses[code] = statuses.get(code, 0) + 1
            if not status_line:
                return
    finally:
        writer.close()


async def run(path: str, host: str, port: int, concurrency: int) -> dict:
    with open(path, encoding="utf-8") as f:
        requests = [build(line, f"{host}:{port}") for line in f if line.strip()]
    cursor = iter(range(len(requests)))

    def next_index() -> int | None:
        return next(cursor, None)

    statuses: dict[int, int] = {}
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(worker(host, port, requests, next_index, statuses, latencies) for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2) if latencies else 0.0

    return {"count": len(latencies), "seconds": round(seconds, 3), "rps": round(len(latencies) / seconds, 1),
            "statuses": statuses, "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1.0)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("requests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.requests, args.host, args.port, args.concurrency))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
