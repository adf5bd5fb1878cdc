"""Every call to a one-stop adapter goes through ``call``: bounded in time, counted in metrics.

A slow province must never hold a worker slot or a citizen's request for long, so each call has
a deadline and a timeout is reported as ``Unavailable`` like any other outage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

import httpx

from motcua import metrics
from motcua.onestop.contract import Adapter, AdapterError, Unavailable

T = TypeVar("T")

LOOKUP_TIMEOUT = 3.0  # a citizen is waiting: answer from our copy rather than keep them waiting
PAGE_TIMEOUT = 30.0  # one change-feed page
CATALOGUE_TIMEOUT = 120.0  # the whole procedure catalogue


async def call(tenant: str, adapter: Adapter, name: str, awaitable: Awaitable[T], *, timeout: float) -> T:
    started = time.perf_counter()
    outcome = "ok"
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        outcome = "timeout"
        raise Unavailable(f"hệ thống một cửa không trả lời trong {timeout:g} giây") from None
    except httpx.TransportError as exc:  # an adapter that let its client's error through: still an outage
        outcome = "unavailable"
        raise Unavailable(f"không kết nối được hệ thống một cửa ({exc.__class__.__name__})") from exc
    except AdapterError as exc:
        outcome = exc.__class__.__name__.lower()
        raise
    except Exception:
        outcome = "error"
        raise
    finally:
        family = adapter.family or adapter.__class__.__name__
        metrics.ADAPTER_CALLS.labels(tenant, family, name, outcome).inc()
        metrics.ADAPTER_LATENCY.labels(tenant, family, name).observe(time.perf_counter() - started)
