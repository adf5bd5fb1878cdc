"""Prometheus metrics, labelled by tenant where it makes sense. Served at ``/metrics``."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("motcua_http_requests_total", "HTTP requests", ["route", "method", "status"])
HTTP_LATENCY = Histogram("motcua_http_request_seconds", "HTTP request latency", ["route"])
WEBHOOK_REQUESTS = Counter("motcua_webhook_requests_total", "Inbound webhook requests", ["tenant", "source", "outcome"])
WEBHOOK_LATENCY = Histogram("motcua_webhook_seconds", "Webhook acknowledgement latency", ["tenant", "source"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5))
EVENTS_PROCESSED = Counter("motcua_events_processed_total", "Inbound events processed", ["tenant", "source", "event"])
JOBS = Counter("motcua_jobs_total", "Jobs run", ["tenant", "kind", "outcome"])
JOB_LATENCY = Histogram("motcua_job_seconds", "Job run time", ["kind"])
QUEUE_DEPTH = Gauge("motcua_queue_depth", "Jobs waiting", ["tenant", "kind", "status"])
SENDS = Counter("motcua_sends_total", "Outbound messages", ["tenant", "channel", "status"])
ZALO_ERRORS = Counter("motcua_zalo_errors_total", "Zalo API error codes", ["tenant", "code"])
ADAPTER_CALLS = Counter("motcua_adapter_calls_total", "One-stop adapter calls", ["tenant", "family", "call", "outcome"])
ADAPTER_LATENCY = Histogram("motcua_adapter_seconds", "One-stop adapter call latency", ["tenant", "family", "call"])
SYNC_LAG = Gauge("motcua_sync_lag_seconds", "Seconds since the last successful sync", ["tenant"])
