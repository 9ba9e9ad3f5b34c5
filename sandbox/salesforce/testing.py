"""Point simple-salesforce at the sandbox: a requests session that rewrites https://*.salesforce.com.

simple-salesforce builds `https://{domain}.salesforce.com/...` and `https://{instance}/...` URLs itself.
`RewriteAdapter`, mounted on the session handed to `Salesforce(session=...)`, sends each request to the
sandbox's base URL instead, keeping path and query. The connector has its own production version
(`connectors/salesforce/client.py`); this one is for tests and quick experiments. Note that `sf.mdapi`
(zeep) posts through its own requests session, not `sf.session`: `route_metadata_api` mounts it there.
`rsa_key_pair` makes the key pair a JWT bearer login signs with and the sandbox verifies.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce


class RewriteAdapter(HTTPAdapter):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._base = urlsplit(base_url.rstrip("/"))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        request.url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
        if kwargs.get("timeout") is None:  # requests passes timeout=None explicitly: never hang a test
            kwargs["timeout"] = 10
        return super().send(request, **kwargs)


def sandbox_session(base_url: str) -> requests.Session:
    session = requests.Session()
    session.mount("https://", RewriteAdapter(base_url))
    return session


def password_login(credentials: dict[str, Any], version: str = "61.0", **kwargs: Any) -> Salesforce:
    """simple-salesforce logged in with SOAP username + password + security token against the sandbox."""
    return Salesforce(
        username=credentials["username"],
        password=credentials["password"],
        security_token=credentials["security_token"],
        version=version,
        session=sandbox_session(credentials["base_url"]),
        **kwargs,
    )


def route_metadata_api(sf: Salesforce, base_url: str) -> None:
    """sf.mdapi's zeep client has its own requests session (not `sf.session`): mount the rewrite there too."""
    sf.mdapi._client.transport.session.mount("https://", RewriteAdapter(base_url))


def rsa_key_pair() -> tuple[str, str]:
    """A fresh (private key PEM, public key PEM) pair for the OAuth JWT bearer flow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public
