"""Building the simple-salesforce client at the edge: session, timeouts, base-URL rewrite, login.

simple-salesforce sets no timeout anywhere and always calls `https://{domain}.salesforce.com` or
`https://{instance}`. The session handed to it therefore carries `SalesforceAdapter`, which gives every
request a default (connect, read) timeout and, when `api_base_url` is set, sends it to that base URL
instead (keeping path and query): the local sandbox or a recording proxy. A response hook reads every
`Sforce-Limit-Info` and `Retry-After` header into `UsageTracker`, because simple-salesforce only parses
the former on successful REST calls and never exposes the latter. `build_salesforce` logs in (network
I/O), so the connector calls it lazily on first use; a rejected login becomes a `ConfigurationError`
that names the user and the domain and what to check, never the secret.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.parsers.expat import ExpatError

import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from connectors.base import ApiBudget, BudgetExhaustedError, ConfigurationError, TransientError
from connectors.salesforce.config import (
    ClientCredentialsAuth,
    JwtAuth,
    PasswordAuth,
    SalesforceConfig,
    SessionAuth,
)
from connectors.text import needs_cleaning, writable

# Login answers that say "the server failed", not "your credentials are wrong": retried.
_TRANSIENT_LOGIN_CODES = frozenset(
    {"UNKNOWN_EXCEPTION", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED", "INVALID_SESSION_ID",
     429, 500, 502, 503, 504}
)
_USAGE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


class SalesforceAdapter(HTTPAdapter):
    """Default timeouts on every request, and the optional rewrite of scheme + host to a base URL."""

    def __init__(self, timeout: tuple[float, float], base_url: str | None = None) -> None:
        super().__init__()
        self._timeout = timeout
        self._base = urlsplit(base_url.rstrip("/")) if base_url else None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        if self._base is not None and request.url:
            parts = urlsplit(request.url)
            request.url = urlunsplit(
                (self._base.scheme, self._base.netloc, self._base.path + parts.path, parts.query, "")
            )
        return super().send(request, **kwargs)


class UsageTracker:
    """The daily API usage and the last Retry-After, as seen in response headers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budget: ApiBudget | None = None
        self.retry_after: float | None = None

    def budget(self) -> ApiBudget | None:
        return self._budget

    def observe(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """A requests response hook."""
        match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        retry_after = seconds(response.headers.get("Retry-After"))
        with self._lock:
            if match:
                self._budget = ApiBudget(used=int(match.group(1)), limit=int(match.group(2)))
            self.retry_after = retry_after


def seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date; rare for Salesforce, fall back to our own backoff
        return None


def writable_answer(response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
    """A requests response hook: a JSON answer holding a lone surrogate or a NUL (see `connectors.text`) is
    made writable before simple-salesforce parses it, as the HubSpot client does with its answers."""
    if "json" not in response.headers.get("Content-Type", ""):
        return  # Bulk API CSV results and SOAP XML are left as they are (and unread here)
    content = response.content
    if not content or not needs_cleaning(content):
        return
    try:
        parsed = json.loads(content)
    except ValueError:
        return  # not JSON after all: the caller's own error handling reports it
    response._content = json.dumps(writable(parsed)).encode()


def build_session(config: SalesforceConfig, tracker: UsageTracker) -> requests.Session:
    return configure_session(requests.Session(), config, tracker)


def configure_session(
    session: requests.Session, config: SalesforceConfig, tracker: UsageTracker
) -> requests.Session:
    """Mount the timeout / rewrite adapter and the usage hook on `session`."""
    adapter = SalesforceAdapter(
        (config.connect_timeout, config.read_timeout),
        str(config.api_base_url) if config.api_base_url else None,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.hooks["response"].extend([tracker.observe, writable_answer])
    return session


@dataclass(frozen=True)
class LoginTarget:
    """Who logs in where, for error messages (never a secret)."""

    user: str
    domain: str
    check: str


def login_target(config: SalesforceConfig) -> LoginTarget:
    target = _login_target(config)
    if config.api_base_url is None:
        return target
    # every call, the login too, goes to api_base_url (the local sandbox, a proxy): name where it went
    url = config.api_base_url
    where = f"{url.host}:{url.port}" if url.port and url.port not in (80, 443) else str(url.host)
    return replace(target, domain=where)


def _login_target(config: SalesforceConfig) -> LoginTarget:
    auth = config.auth
    if isinstance(auth, JwtAuth):
        where = f"{auth.my_domain or auth.domain}.salesforce.com"
        return LoginTarget(
            auth.username, where, "the connected app's consumer key and certificate, that the user is "
            "pre-authorized for the app (admin-approved users), and the login/test domain"
        )
    if isinstance(auth, PasswordAuth):
        return LoginTarget(
            auth.username, f"{auth.domain}.salesforce.com",
            "the password and the security token (reset it after a password change), IP login "
            "restrictions, and the login/test domain",
        )
    if isinstance(auth, ClientCredentialsAuth):
        return LoginTarget(
            # not even a prefix of the key: it is a secret here, and every key starts "3MVG9" anyway
            "the connected app's client credentials (its run-as user)",
            f"{auth.domain}.salesforce.com",
            "the consumer key and secret, that the client credentials flow is enabled with a run-as user",
        )
    return LoginTarget("(session id)", str(auth.instance_url), "that the session id is current")


def salesforce_kwargs(config: SalesforceConfig, session: requests.Session) -> dict[str, Any]:
    """The keyword arguments that select exactly one simple-salesforce auth branch."""
    auth = config.auth
    common: dict[str, Any] = {"version": config.api_version, "session": session, "object_pairs_hook": dict}
    if isinstance(auth, JwtAuth):
        key = {"privatekey": auth.private_key.get_secret_value()} if auth.private_key else {
            "privatekey_file": auth.private_key_file
        }
        return {
            **common, **key, "username": auth.username, "consumer_key": auth.consumer_key.get_secret_value(),
            "domain": auth.domain, "instance_url": auth.my_domain,
        }
    if isinstance(auth, PasswordAuth):
        return {
            **common, "username": auth.username, "password": auth.password.get_secret_value(),
            "security_token": auth.security_token.get_secret_value(), "domain": auth.domain,
        }
    if isinstance(auth, ClientCredentialsAuth):
        return {
            **common, "consumer_key": auth.consumer_key.get_secret_value(),
            "consumer_secret": auth.consumer_secret.get_secret_value(), "domain": auth.domain,
        }
    assert isinstance(auth, SessionAuth)
    return {
        **common, "session_id": auth.session_id.get_secret_value(), "instance_url": str(auth.instance_url)
    }


def check_jwt_key(auth: JwtAuth) -> None:
    """A JWT signing key that cannot be read or is not an unencrypted PEM private key is a
    ConfigurationError naming where it came from (simple-salesforce fails with a bare OSError or
    InvalidKeyError); the key itself is never quoted."""
    if auth.private_key is not None:
        pem, where = auth.private_key.get_secret_value().encode(), "private_key"
    else:
        path = Path(auth.private_key_file or "")
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the JWT private key file {path} (auth.private_key_file): {exc.strerror or exc}"
            ) from None
        where = f"private_key_file {path}"
    try:
        serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError(
            f"the JWT signing key ({where}) is not an unencrypted PEM private key; give the connected app's "
            "private key (-----BEGIN PRIVATE KEY-----), not its certificate"
        ) from None


def build_salesforce(config: SalesforceConfig, session: requests.Session) -> Salesforce:
    """Log in and return the client. A rejected login is a ConfigurationError, a failed one transient, one
    refused for the daily request limit out of budget."""
    if isinstance(config.auth, JwtAuth):
        check_jwt_key(config.auth)
    try:
        sf = Salesforce(**salesforce_kwargs(config, session))
    except SalesforceAuthenticationFailed as exc:
        raise login_error(config, exc) from None
    except UNREADABLE_LOGIN_ANSWER as exc:
        raise unreadable_login(config, exc) from None
    login = sf._salesforce_login_partial
    if login is not None:
        # simple-salesforce re-logs in by itself inside REST calls; route those logins through the same
        # translation, so a re-login that fails is explained (or retried) like the first one.
        sf._salesforce_login_partial = _translated(config, login)  # type: ignore[assignment]
    return sf


def _translated(
    config: SalesforceConfig, login: Callable[[], tuple[str, str]]
) -> Callable[[], tuple[str, str]]:
    def translated_login() -> tuple[str, str]:
        try:
            return login()
        except SalesforceAuthenticationFailed as exc:
            raise login_error(config, exc) from None
        except UNREADABLE_LOGIN_ANSWER as exc:
            raise unreadable_login(config, exc) from None

    return translated_login


# A login answered with something that is not Salesforce's (a proxy's or captive portal's HTML page, a body
# cut short): simple-salesforce's XML or JSON parsing raises, which escaped as a traceback.
UNREADABLE_LOGIN_ANSWER = (ExpatError, requests.exceptions.JSONDecodeError)
_NO_FAULT_CODE = "UNKNOWN_EXCEPTION_CODE"  # simple-salesforce: a SOAP answer with no session and no fault


def unreadable_login(config: SalesforceConfig, exc: Exception) -> TransientError:
    target = login_target(config)
    return TransientError(
        f"Salesforce login of {target.user} at {target.domain} got an answer that is not Salesforce's "
        f"(a proxy's page, or cut short: {type(exc).__name__}); check the domain and any proxy"
    )


def login_error(
    config: SalesforceConfig, exc: SalesforceAuthenticationFailed
) -> ConfigurationError | TransientError | BudgetExhaustedError:
    """A refused login names who logs in where and what to check; a server failure is transient; the
    org's daily API requests used up (a login counts as one) stops the run as out of budget, not retried."""
    if exc.code == _NO_FAULT_CODE:
        return unreadable_login(config, exc)
    target = login_target(config)
    reason = f"{exc.code}: {exc.auth_message}" if exc.code else str(exc.auth_message)
    if exc.code == "REQUEST_LIMIT_EXCEEDED" and "concurrent" not in str(exc.auth_message).lower():
        return BudgetExhaustedError(
            f"Salesforce daily API request limit reached at the login of {target.user} ({reason})"
        )
    if exc.code in _TRANSIENT_LOGIN_CODES:
        return TransientError(f"Salesforce login of {target.user} at {target.domain} failed ({reason})")
    return ConfigurationError(
        f"Salesforce rejected the login of {target.user} at {target.domain} ({reason}). Check {target.check}."
    )


def can_relogin(config: SalesforceConfig) -> bool:
    return not isinstance(config.auth, SessionAuth)
