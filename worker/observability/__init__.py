"""Observability for the worker: structured logs with run context, secret redaction, Prometheus metrics,
and the /metrics, /livez and /readyz HTTP endpoints."""
