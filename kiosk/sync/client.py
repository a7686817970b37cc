"""A node's HTTP client of the district hub (docs/hub.md): TLS pinned to the certificate
seen at enrolment, every request signed (``kiosk.core.hubwire``), the clock's skew
measured from each answer's ``Date``.

Any failure to reach the hub (refused connection, timeout, a connection cut in the
middle, a 5xx) is one :class:`HubRefused` with :data:`Refusal.UNAVAILABLE`: the node
goes on offline and tries again later. A refusal by the hub carries its reason.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.core import hubwire
from kiosk.core.errors import UserError
from kiosk.core.hubwire import HubRefused, Refusal
from kiosk.core.i18n import tr

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, read=60.0)


def split_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise UserError(tr("The hub's address is https://host:port (got {url}).", url=url))
    return parts.hostname, parts.port or 443


def fetch_certificate(url: str, timeout: float = 10.0) -> str:
    """The certificate the server at ``url`` presents (PEM), not yet trusted: enrolment
    binds it to the code (``hubwire.join_binding``)."""
    host, port = split_url(url)
    try:
        return ssl.get_server_certificate((host, port), timeout=timeout)
    except (OSError, ssl.SSLError) as exc:
        raise HubRefused(Refusal.UNAVAILABLE, f"{url}: {exc}") from None


def certificate_der(pem: str) -> bytes:
    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    return cert.public_bytes(serialization.Encoding.DER)


def pinned_context(pem: str) -> ssl.SSLContext:
    """A TLS context that trusts exactly the pinned certificate (whatever name the hub
    is reached by: a gate may know it by address)."""
    context = ssl.create_default_context(cadata=pem)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


@dataclass
class Answer:
    status: int
    body: Any
    skew: timedelta | None


def _skew(response: httpx.Response, sent: datetime, got: datetime) -> timedelta | None:
    """The hub's clock minus ours, from its ``Date`` (to the second) against the middle
    of the round trip."""
    text = response.headers.get("date")
    if not text:
        return None
    try:
        theirs = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=UTC)
    middle = sent + (got - sent) / 2
    # Date has whole seconds: count a skew under a second as none
    found = theirs + timedelta(milliseconds=500) - middle
    return timedelta(0) if abs(found) < timedelta(seconds=1) else found


def _certificate_refused(exc: BaseException) -> bool:
    """Whether the TLS handshake failed on the hub's certificate (a certificate other
    than the pinned one), as opposed to the hub being away."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


class HubClient:
    """Requests of one node to one hub."""

    def __init__(
        self,
        url: str,
        certificate_pem: str | None,
        *,
        node: str = "",
        key: Ed25519PrivateKey | None = None,
        skew: timedelta = timedelta(0),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        split_url(url)
        self.url = url.rstrip("/")
        self.node = node
        self.key = key
        self.skew = skew
        self.clock = clock
        verify: ssl.SSLContext | bool = (
            pinned_context(certificate_pem) if certificate_pem else False
        )
        self._http = httpx.Client(base_url=self.url, verify=verify, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        sent = self.clock()
        try:
            response = self._http.request(method, path, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            if _certificate_refused(exc):  # not the pinned certificate: say so, loudly
                raise HubRefused(Refusal.PINNING, f"{type(exc).__name__}: {exc}") from None
            raise HubRefused(Refusal.UNAVAILABLE, f"{type(exc).__name__}: {exc}") from None
        skew = _skew(response, sent, self.clock())
        if skew is not None:
            self.skew = skew
        try:
            decoded = response.json()
        except ValueError:
            decoded = None
        if response.status_code >= 500 or (
            response.status_code >= 400 and not isinstance(decoded, dict)
        ):
            raise HubRefused(Refusal.UNAVAILABLE, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            assert isinstance(decoded, dict)
            try:
                reason = Refusal(str(decoded.get("refused")))
            except ValueError:
                reason = Refusal.DAMAGED
            raise HubRefused(reason, str(decoded.get("detail") or ""))
        return Answer(response.status_code, decoded, skew)

    def hello(self) -> dict[str, Any]:
        answer = self._send("GET", "/v1/hello", b"", {})
        if not isinstance(answer.body, dict) or answer.body.get("hub") != "gatepass":
            raise HubRefused(Refusal.UNAVAILABLE, "not a Gatepass hub")
        return answer.body

    def join(self, body: Mapping[str, Any]) -> dict[str, Any]:
        answer = self._send(
            "POST",
            "/v1/join",
            json.dumps(dict(body)).encode("utf-8"),
            {"content-type": "application/json"},
        )
        if not isinstance(answer.body, dict):
            raise HubRefused(Refusal.DAMAGED, "join answer")
        return answer.body

    def signed(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        params: Mapping[str, str | int] | None = None,
        content_type: str = "application/octet-stream",
    ) -> Any:
        """A signed request; a clock refusal is retried once with the skew the refusal's
        ``Date`` gave."""
        if self.key is None:
            raise RuntimeError("a signed request needs the node's key")
        target = path
        if params:
            target += "?" + str(httpx.QueryParams(dict(params)))
        for attempt in (1, 2):
            now = self.clock() + self.skew
            headers = hubwire.sign_request(self.key, self.node, method, target, body, now)
            headers["content-type"] = content_type
            try:
                return self._send(method, target, body, headers).body
            except HubRefused as exc:
                if exc.reason is not Refusal.CLOCK or attempt == 2:
                    raise
                log.warning("the hub refused our clock; trying with a skew of %s", self.skew)
        raise AssertionError("unreachable")
