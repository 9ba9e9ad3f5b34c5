"""Assemble the Salesforce stand-in: routes, Salesforce-shaped faults and the Sforce-Limit-Info header.

Fault kinds (from `sandbox.faults.FaultPlan`) answer the way Salesforce does:
- rate_limit: 403 REQUEST_LIMIT_EXCEEDED "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
  (Salesforce's REST API has no 429); set `rate_limit_status=429` for a 429 with Retry-After instead.
- server_error: `server_error_status` (503 SERVER_UNAVAILABLE by default, or 500 UNKNOWN_EXCEPTION).
- expired_session: the caller's session is really revoked, then 401 INVALID_SESSION_ID, so the client
  must log in again (simple-salesforce does so on its own for password/JWT/client-credentials logins).
- drop: the connection closes without an answer (handled by sandbox.http).
- query_timeout: 400 QUERY_TIMEOUT, a query that ran past Salesforce's time limit (meant for query routes).
SOAP endpoints (login, Metadata API) answer the same faults as SOAP faults. Every `/services/data`
response carries `Sforce-Limit-Info: api-usage=N/M`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from sandbox.faults import FaultPlan
from sandbox.http import App, Request, Response
from sandbox.salesforce.bulk2 import register_bulk2
from sandbox.salesforce.composite import register_composite
from sandbox.salesforce.composite_requests import register_composite_requests
from sandbox.salesforce.login import register_login
from sandbox.salesforce.metadata_soap import MD_NS, register_metadata
from sandbox.salesforce.responses import (
    bearer,
    invalid_session,
    not_found,
    sf_error,
    soap_fault,
    soap_text,
)
from sandbox.salesforce.rest import register_rest
from sandbox.salesforce.store import SalesforceStore


@dataclass
class FaultStyle:
    rate_limit_status: int = 403
    server_error_status: int = 503
    retry_after: int = 1


def _soap_session(request: Request) -> str | None:
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError:
        return None
    return soap_text(root, "sessionId")


def _soap_fault_for(kind: str, request: Request) -> Response:
    namespace = MD_NS if "/Soap/m/" in request.path else "urn:fault.partner.soap.sforce.com"
    code, message = {
        "rate_limit": (
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
        ),
        "expired_session": (
            "INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: Illegal Session",
        ),
    }.get(
        kind,
        (
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you "
            "contact support: 1234567890-12345 (-1234567890)",
        ),
    )
    return soap_fault(code, message, namespace=namespace)


def make_fault_response(store: SalesforceStore, style: FaultStyle):  # type: ignore[no-untyped-def]
    def fault_response(kind: str, request: Request) -> Response:
        if kind == "expired_session":
            store.expire_session(bearer(request) or _soap_session(request))
        if "/services/Soap/" in request.path:
            return _soap_fault_for(kind, request)
        if "/services/oauth2/" in request.path:
            return Response.json({"error": "server_error", "error_description": "retry your request"}, 503)
        if kind == "rate_limit":
            if style.rate_limit_status == 429:
                response = sf_error(429, "REQUEST_LIMIT_EXCEEDED", "Too many requests. Retry later.")
                response.headers["Retry-After"] = str(style.retry_after)
                return response
            return sf_error(
                403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
            )
        if kind == "expired_session":
            return invalid_session()
        if kind == "query_timeout":
            return sf_error(400, "QUERY_TIMEOUT", "Your query request was running for too long.")
        if style.server_error_status == 500:
            return sf_error(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId "
                "if you contact support: 1234567890-12345 (-1234567890)",
            )
        return sf_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable; please retry.")

    return fault_response


def build_app(
    store: SalesforceStore, faults: FaultPlan | None = None, style: FaultStyle | None = None
) -> App:
    app = App("salesforce", faults)
    app.fault_response = make_fault_response(store, style or FaultStyle())
    app.not_found = lambda _request: not_found()

    def decorate(request: Request, response: Response) -> None:
        if request.path.startswith("/services/data"):
            response.headers["Sforce-Limit-Info"] = store.limit_header()

    app.decorate = decorate
    register_login(app, store)
    register_metadata(app, store)
    register_rest(app, store)
    register_composite(app, store)
    register_composite_requests(app, store)
    register_bulk2(app, store)
    return app
