"""OpenTelemetry tracing that follows one citizen message from the webhook to the reply.

Off by default. ``configure()`` turns it on when ``MOTCUA_TRACING=1`` or
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the OTLP exporter, from the ``otel`` extra, is imported
only then); tests pass their own exporter. Three places make spans:

- the web middleware: one SERVER span per request (``tracing.server_span``), continuing a
  ``traceparent`` header when the caller sent one;
- the queue: ``motcua.jobs.queue.enqueue`` writes the current context into the job payload
  as ``payload["_trace"]`` and the worker continues it (``tracing.job_span``), so a job's span
  is a child of the request (or job) that enqueued it, across processes and restarts;
- the runtime's shared ``httpx`` client: one CLIENT span per outbound call, with the context
  sent on as ``traceparent`` (``TracingTransport``).

Spans carry tenant, route, job kind and status, never personal data: no query strings, no
bodies, no headers but ``traceparent``.

We keep our own ``TracerProvider`` instead of installing a global one: OpenTelemetry allows
the global provider to be set once per process, and tests need to turn tracing on and off.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

log = logging.getLogger(__name__)

TRACE_KEY = "_trace"  # where a job's payload carries its parent's traceparent

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def wanted(env: Mapping[str, str] | None = None) -> bool:
    """Whether the environment asks for tracing."""
    env = os.environ if env is None else env
    on = env.get("MOTCUA_TRACING", "").strip().lower() in {"1", "true", "yes", "on"}
    return on or bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def enabled() -> bool:
    return _tracer is not None


def configure(exporter: SpanExporter | None = None, *, service: str = "motcua",
              env: Mapping[str, str] | None = None, batch: bool | None = None) -> bool:
    """Turn tracing on if ``exporter`` is given or the environment asks for it. Idempotent:
    a second call without an exporter keeps the current set-up. Returns whether tracing is on."""
    global _provider, _tracer
    if exporter is None and (_tracer is not None or not wanted(env)):
        return _tracer is not None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is None:
        exporter = _otlp_exporter()
        batch = True if batch is None else batch
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)}))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    shutdown()
    _provider = provider
    _tracer = provider.get_tracer("motcua")
    return True


def _otlp_exporter() -> SpanExporter:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not endpoint:  # MOTCUA_TRACING=1 alone: spans go to the log, handy on a laptop
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:  # pragma: no cover - depends on how it was installed
        raise RuntimeError("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not installed: "
                           "install motcua with the 'otel' extra (pip install 'motcua[otel]')") from exc
    return OTLPSpanExporter()  # reads the OTEL_EXPORTER_OTLP_* variables itself


def shutdown() -> None:
    """Flush and turn tracing off (process exit, tests)."""
    global _provider, _tracer
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


def _propagator():
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None when tracing is off or no span is open."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _propagator().inject(carrier)
    return carrier.get("traceparent")


def inject_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Return ``payload`` with the current trace context added (a copy; the caller's dict is left alone)."""
    parent = current_traceparent()
    if parent is None or TRACE_KEY in payload:
        return payload
    return {**payload, TRACE_KEY: parent}


@contextlib.contextmanager
def span(name: str, *, kind: str = "internal", parent: str | None = None,
         attributes: Mapping[str, Any] | None = None) -> Iterator[Span | None]:
    """A span named ``name`` (a no-op yielding None when tracing is off). ``parent`` is a
    ``traceparent`` to continue, e.g. from a header or a job's payload."""
    tracer = _tracer
    if tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode

    ctx = _propagator().extract({"traceparent": parent}) if parent else None
    attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
    with tracer.start_as_current_span(name, context=ctx, kind=getattr(SpanKind, kind.upper()), attributes=attrs,
                                      record_exception=False, set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as exc:
            # The exception's class only: its message may hold what a citizen typed.
            current.set_status(Status(StatusCode.ERROR, exc.__class__.__name__))
            raise


def job_span(job: Any) -> contextlib.AbstractContextManager[Span | None]:
    """The worker's span for one job, a child of whatever enqueued it."""
    parent = job.payload.get(TRACE_KEY) if isinstance(job.payload, dict) else None
    return span(f"job {job.kind}", kind="consumer", parent=parent if isinstance(parent, str) else None,
                attributes={"motcua.tenant": job.tenant_id, "motcua.job.kind": job.kind,
                            "motcua.job.id": job.id, "motcua.job.attempt": job.attempts})


def server_span(method: str, route: str, headers: list[tuple[bytes, bytes]],
                tenant: str | None) -> contextlib.AbstractContextManager[Span | None]:
    if _tracer is None:
        return contextlib.nullcontext()
    parent = next((v.decode("latin-1") for k, v in headers if k == b"traceparent"), None)
    return span(f"{method} {route}", kind="server", parent=parent,
                attributes={"http.request.method": method, "http.route": route, "motcua.tenant": tenant})


class TracingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: a CLIENT span per request and ``traceparent`` sent on. A pass-through
    when tracing is off, so it can always be installed."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _tracer is None:
            return await self.inner.handle_async_request(request)
        attrs = {"http.request.method": request.method, "server.address": request.url.host,
                 "server.port": request.url.port, "url.path": request.url.path}
        with span(f"{request.method} {request.url.host}{request.url.path}", kind="client", attributes=attrs) as s:
            if parent := current_traceparent():
                request.headers["traceparent"] = parent
            response = await self.inner.handle_async_request(request)
            if s is not None:
                s.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 500:
                    from opentelemetry.trace import Status, StatusCode

                    s.set_status(Status(StatusCode.ERROR, f"HTTP {response.status_code}"))
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def http_client(**kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose calls are traced when tracing is on."""
    transport = kwargs.pop("transport", None) or httpx.AsyncHTTPTransport()
    return httpx.AsyncClient(transport=TracingTransport(transport), **kwargs)
