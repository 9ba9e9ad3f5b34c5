"""Salesforce's error shapes, the authenticated-handler wrapper every data API route goes through, and
`soap_text`, how the SOAP endpoints read a request element whatever its namespace prefix.

REST errors are `[{"message": ..., "errorCode": ...}]` lists (what simple-salesforce's exception map reads);
SOAP errors are SOAP 1.1 faults with `sf:`-qualified fault codes. `authed` checks the Bearer session
(401 INVALID_SESSION_ID "Session expired or invalid"), the daily API limit (403 REQUEST_LIMIT_EXCEEDED
"TotalRequests Limit exceeded."), counts the call, and turns query errors into 400s and a sandbox bug into
Salesforce's 500 UNKNOWN_EXCEPTION (logged with its traceback). A subrequest of a composite call
(`in_subrequests`) checks the session but neither the limit nor the count: the composite call counted once.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from xml.sax.saxutils import escape

from sandbox.http import Request, Response
from sandbox.salesforce.soql import SoqlError
from sandbox.salesforce.store import SalesforceStore

AuthedHandler = Callable[[Request, str], Response]
log = logging.getLogger(__name__)
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_SUBREQUEST: ContextVar[bool] = ContextVar("salesforce_subrequest", default=False)


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return Response.json([body], status)


def invalid_session() -> Response:
    return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")


def daily_limit() -> Response:
    return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def not_found() -> Response:
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") and token.strip() else None


def authed(store: SalesforceStore, handler: AuthedHandler) -> Callable[[Request], Response]:
    def wrapped(request: Request) -> Response:
        user_id = store.session_user(bearer(request))
        if user_id is None:
            return invalid_session()
        if not _SUBREQUEST.get():
            if store.daily_limit_exhausted():
                return daily_limit()
            store.count_api_call()
        try:
            return handler(request, user_id)
        except SoqlError as exc:
            return sf_error(400, exc.code, exc.message)
        except Exception:  # a sandbox bug: answer as Salesforce does, and leave the traceback in the log
            log.exception("sandbox error on %s %s", request.method, request.path)
            return sf_error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred (see the sandbox log)")

    return wrapped


@contextmanager
def in_subrequests() -> Iterator[None]:
    """Handlers called in this block answer a composite call's subrequests: not counted on their own."""
    token = _SUBREQUEST.set(True)
    try:
        yield
    finally:
        _SUBREQUEST.reset(token)


def soap_text(root: ET.Element, local_name: str) -> str | None:
    """The text of the first element named `local_name` in any namespace ("" if empty), None if absent."""
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == local_name:
            return element.text or ""
    return None


def soap_fault(
    code: str,
    message: str,
    *,
    detail_type: str = "UnexpectedErrorFault",
    namespace: str = "urn:fault.partner.soap.sforce.com",
    status: int = 500,
) -> Response:
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:sf="{namespace}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        f'<detail><sf:{detail_type} xsi:type="sf:{detail_type}"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:{detail_type}></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response.xml(text, status)
