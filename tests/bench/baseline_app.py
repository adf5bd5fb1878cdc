"""The baseline for the ingest benchmark: a bare Litestar endpoint that does one asyncpg INSERT
per request and answers 200 — what any webhook receiver must at least do. Run as
``python -m tests.bench.baseline_app --port P --dsn URL`` (one uvicorn process, like ``serve``)."""

from __future__ import annotations

import argparse
import sys

import asyncpg
import uvicorn
from litestar import Litestar, Request, Response, post
from litestar.datastructures import State


def create_app(dsn: str) -> Litestar:
    async def startup(app: Litestar) -> None:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10)

    async def shutdown(app: Litestar) -> None:
        await app.state.pool.close()

    @post("/bare/{tenant:str}/webhook", status_code=200)
    async def bare(tenant: str, request: Request, state: State) -> Response[bytes]:
        body = await request.body()
        await state.pool.execute("INSERT INTO bench_bare (tenant, payload) VALUES ($1, $2::text::jsonb)",
                                 tenant, body.decode())
        return Response(b'{"message":"received"}', media_type="application/json")

    return Litestar([bare], on_startup=[startup], on_shutdown=[shutdown], debug=False)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dsn", required=True)
    args = ap.parse_args()
    uvicorn.run(create_app(args.dsn), host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
