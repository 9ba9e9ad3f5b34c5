"""Logins simple-salesforce performs: SOAP `login` and the OAuth 2.0 token endpoint.

SOAP `POST /services/Soap/u/{ver}` takes username and password+security token and answers a
`loginResponse` (sessionId, serverUrl on the org's My Domain host, userId); bad credentials get the SOAP
fault `sf:INVALID_LOGIN` (HTTP 500) whose `sf:exceptionCode` simple-salesforce reads. OAuth
`POST /services/oauth2/token` supports the JWT bearer grant (RS256 assertion; `iss` must be the consumer
key, `sub` an active username, `aud` a salesforce.com login URL, `exp` in the future; the signature is
verified when the org has a registered public key), client_credentials (HTTP Basic consumer key:secret or
client_id/client_secret in the form) and the password grant; failures are Salesforce's OAuth error JSON
`{"error": "invalid_grant", "error_description": ...}` with HTTP 400. Every success issues a new session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs

import jwt

from sandbox.http import App, Request, Response
from sandbox.salesforce.responses import soap_fault, soap_text
from sandbox.salesforce.store import SalesforceStore

INSTANCE_HOST = "commitments-sandbox.my.salesforce.com"
INSTANCE_URL = f"https://{INSTANCE_HOST}"


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def _user_by_username(store: SalesforceStore, username: str | None) -> str | None:
    for user in store.table("User").values():
        if username and user["Username"] == username and user["IsActive"] and not user["IsDeleted"]:
            return str(user["Id"])
    return None


def soap_login(store: SalesforceStore, request: Request) -> Response:
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError:
        return soap_fault(
            "INVALID_LOGIN",
            "Invalid username, password, security token; or user locked out.",
            detail_type="LoginFault",
        )
    username, password = soap_text(root, "username"), soap_text(root, "password")
    org = store.org
    if username != org["username"] or password != org["password"] + org["security_token"]:
        return soap_fault(
            "INVALID_LOGIN",
            "Invalid username, password, security token; or user locked out.",
            detail_type="LoginFault",
        )
    user_id = org["api_user_id"]
    session = store.issue_session(user_id)
    version, org15 = request.params["ver"], org["id"][:15]
    text = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>'
        f"<metadataServerUrl>{INSTANCE_URL}/services/Soap/m/{version}/{org15}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{INSTANCE_URL}/services/Soap/u/{version}/{org15}</serverUrl>"
        f"<sessionId>{session}</sessionId><userId>{user_id}</userId>"
        f"<userInfo><organizationId>{org['id']}</organizationId><userName>{org['username']}</userName>"
        f"<userId>{user_id}</userId></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response.xml(text)


def _jwt_user(store: SalesforceStore, assertion: str) -> str:
    try:
        header = jwt.get_unverified_header(assertion)
        claims: dict[str, Any] = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_grant", "invalid assertion") from exc
    if header.get("alg") != "RS256" or not {"iss", "sub", "aud", "exp"} <= claims.keys():
        raise OAuthError("invalid_grant", "invalid assertion")
    org = store.org
    if claims["iss"] != org["consumer_key"]:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    audience = str(claims["aud"])
    if not (audience.startswith("https://") and audience.rstrip("/").endswith(".salesforce.com")):
        raise OAuthError("invalid_grant", "audience is invalid")
    if float(claims["exp"]) < time.time():
        raise OAuthError("invalid_grant", "expired authorization code")
    if org.get("jwt_public_key"):
        try:
            jwt.decode(
                assertion,
                org["jwt_public_key"],
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", "invalid assertion") from exc
    user_id = _user_by_username(store, claims["sub"])
    if user_id is None:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return user_id


def _client_credentials(store: SalesforceStore, request: Request, form: dict[str, str]) -> str:
    key, secret = form.get("client_id"), form.get("client_secret")
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            key, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "invalid client credentials") from exc
    if key != store.org["consumer_key"] or secret != store.org["consumer_secret"]:
        raise OAuthError("invalid_client", "invalid client credentials")
    return str(store.org["api_user_id"])


def _password_grant(store: SalesforceStore, form: dict[str, str]) -> str:
    org = store.org
    if form.get("client_id") != org["consumer_key"] or form.get("client_secret") != org["consumer_secret"]:
        raise OAuthError("invalid_client", "invalid client credentials")
    if form.get("username") != org["username"] or form.get("password") not in (
        org["password"],
        org["password"] + org["security_token"],
    ):
        raise OAuthError("invalid_grant", "authentication failure")
    return str(org["api_user_id"])


def oauth_token(store: SalesforceStore, request: Request) -> Response:
    form = {k: v[0] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
    grant = form.get("grant_type")
    try:
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            user_id = _jwt_user(store, form.get("assertion", ""))
        elif grant == "client_credentials":
            user_id = _client_credentials(store, request, form)
        elif grant == "password":
            user_id = _password_grant(store, form)
        else:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
    except OAuthError as exc:
        return Response.json({"error": exc.error, "error_description": exc.description}, 400)
    token = store.issue_session(user_id)
    issued = str(int(time.time() * 1000))
    signature = base64.b64encode(hashlib.sha256((token + issued).encode()).digest()).decode()
    return Response.json(
        {
            "access_token": token,
            "instance_url": INSTANCE_URL,
            "scope": "api",
            "id": f"https://login.salesforce.com/id/{store.org['id']}/{user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": signature,
        }
    )


def register_login(app: App, store: SalesforceStore) -> None:
    app.route("POST", r"/services/Soap/u/(?P<ver>\d+\.\d)(?:/\w*)?", "login_soap")(
        lambda request: soap_login(store, request)
    )
    app.route("POST", r"/services/oauth2/token", "oauth_token")(lambda request: oauth_token(store, request))
