"""What a node and the district hub say to each other over HTTP (issue 14; docs/hub.md).

Pure: no network, no database. Both ends import it, so the signed text of a request,
the refusal reasons and the enrolment binding are defined once.

**Signed requests.** Every request a node makes (but the first contact, ``/v1/hello``,
and its enrolment, ``/v1/join``) carries four headers: the node's id, the time by the
node's clock corrected by the skew it measured from the hub's ``Date``, a random nonce,
and an Ed25519 signature by the node's key over :func:`request_text` (the method, the
path with its query, those three values and the SHA-256 of the body). The hub checks
the key it holds for the node (a removed node has none), refuses a time more than
:data:`MAX_SKEW` from its own, and keeps each nonce for twice that long: a request
replayed within the window is refused by its nonce, outside it by its time.

**Pinning.** The hub's TLS certificate is pinned at enrolment: the node reads the
certificate the hub presented and sends :func:`join_binding` (an HMAC under the one-time
code over that certificate's SHA-256, its node id and its public key); the hub computes
the same over its own certificate and refuses a mismatch. A man in the middle with
another certificate cannot produce it without the code, and the node keeps the
certificate it saw as the only one it trusts for that hub.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.core.bundle import canonical_json
from kiosk.core.clock import from_db, to_db
from kiosk.core.errors import UserError
from kiosk.core.i18n import N_, tr

PROTOCOL = 1
CONTEXT = b"gatepass-hub-request-v1\n"
JOIN_CONTEXT = b"gatepass-hub-join-v1\n"

H_NODE = "gatepass-node"
H_TIME = "gatepass-time"
H_NONCE = "gatepass-nonce"
H_SIGNATURE = "gatepass-signature"

MAX_SKEW = timedelta(minutes=5)
"""A signed request whose time is further than this from the hub's is refused (the node
corrects its clock by the skew it measured and tries once more)."""

WARN_SKEW = timedelta(minutes=2)
"""A node whose clock is further than this from the hub's warns (it misjudges validity
windows)."""

MAX_BODY = 16 * 1024 * 1024
"""The largest request body the hub reads (a node sends its change sets in pages below)."""

PAGE_BYTES = 4 * 1024 * 1024
"""A push or a pull carries change sets up to about this many bytes at a time."""


class Refusal(enum.StrEnum):
    """Why the hub refused a request: sent as ``{"refused": reason, "detail": ...}``
    with a 4xx status; the node shows :func:`refusal_message` in the guard's language."""

    UNKNOWN_NODE = "unknown_node"
    ACCOUNT = "account"
    REMOVED = "removed"
    SIGNATURE = "signature"
    CLOCK = "clock"
    REPLAYED = "replayed"
    TOO_BIG = "too_big"
    RATE = "rate"
    BAD_CODE = "bad_code"
    PINNING = "pinning"
    NOT_ALLOWED = "not_allowed"
    DAMAGED = "damaged"
    SCOPE = "scope"
    UNAVAILABLE = "unavailable"


_MESSAGES = {
    Refusal.UNKNOWN_NODE: N_("The hub does not know this checkpoint: enrol it with the hub first."),
    Refusal.ACCOUNT: N_("The hub does not know this account's token, or it was revoked."),
    Refusal.REMOVED: N_("The hub refuses this checkpoint: it was removed from its compound."),
    Refusal.SIGNATURE: N_("The hub could not verify this checkpoint's signature."),
    Refusal.CLOCK: N_(
        "This computer's clock is too far from the hub's: set the date and time right."
    ),
    Refusal.REPLAYED: N_("The hub saw this request before and refused it again."),
    Refusal.TOO_BIG: N_("The hub refused a request that was too large."),
    Refusal.RATE: N_("The hub is asking this checkpoint to slow down; it will try again later."),
    Refusal.BAD_CODE: N_("The hub refused the enrolment code: it is wrong, used or expired."),
    Refusal.PINNING: N_(
        "The hub's certificate is not the one expected: someone may be in between. "
        "Nothing was sent."
    ),
    Refusal.NOT_ALLOWED: N_("The hub refused records this checkpoint may not write."),
    Refusal.DAMAGED: N_("The hub could not read what this checkpoint sent."),
    Refusal.SCOPE: N_("This account may not read that area's records."),
    Refusal.UNAVAILABLE: N_("The hub is not available now; the gate goes on working offline."),
}


def refusal_message(reason: str) -> str:
    """What a refusal means, in the current language (an unknown reason, from a newer
    hub, reads as "could not read")."""
    try:
        return tr(_MESSAGES[Refusal(reason)])
    except ValueError:
        return tr(_MESSAGES[Refusal.DAMAGED])


class HubRefused(UserError):
    """The hub (or the node, checking the hub) refused: ``reason`` is a
    :class:`Refusal`, ``detail`` is for the log."""

    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(refusal_message(reason))
        self.reason = reason
        self.detail = detail


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_text(method: str, target: str, node: str, time: str, nonce: str, body: bytes) -> bytes:
    """What a node signs for one request (``target``: the path with its query string)."""
    return CONTEXT + "\n".join(
        (method.upper(), target, node, time, nonce, body_digest(body))
    ).encode("utf-8")


def sign_request(
    key: Ed25519PrivateKey, node: str, method: str, target: str, body: bytes, now: datetime
) -> dict[str, str]:
    """The headers that authenticate one request by ``node``."""
    time = to_db(now)
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(18)).decode("ascii")
    signature = key.sign(request_text(method, target, node, time, nonce, body))
    return {
        H_NODE: node,
        H_TIME: time,
        H_NONCE: nonce,
        H_SIGNATURE: base64.b64encode(signature).decode("ascii"),
    }


@dataclass(frozen=True)
class SignedRequest:
    node: str
    time: datetime
    nonce: str
    signature: bytes


def read_signed(headers: Mapping[str, str]) -> SignedRequest:
    """The authentication headers of a request (``HubRefused(SIGNATURE)`` when one is
    missing or malformed)."""
    try:
        node = headers[H_NODE]
        time = from_db(headers[H_TIME])
        nonce = headers[H_NONCE]
        signature = base64.b64decode(headers[H_SIGNATURE], validate=True)
    except (KeyError, ValueError, TypeError, binascii.Error):
        raise HubRefused(Refusal.SIGNATURE, "missing or malformed headers") from None
    if not (0 < len(nonce) <= 64) or len(signature) != 64 or len(node) > 64:
        raise HubRefused(Refusal.SIGNATURE, "malformed headers")
    return SignedRequest(node, time, nonce, signature)


def check_signed(
    signed: SignedRequest,
    public_key: Ed25519PublicKey,
    method: str,
    target: str,
    body: bytes,
    now: datetime,
) -> None:
    """Raise :class:`HubRefused` unless the request is signed by ``public_key`` at a time
    within :data:`MAX_SKEW` of ``now``."""
    text = request_text(method, target, signed.node, to_db(signed.time), signed.nonce, body)
    try:
        public_key.verify(signed.signature, text)
    except InvalidSignature:
        raise HubRefused(Refusal.SIGNATURE, f"request by {signed.node}") from None
    if abs(signed.time - now) > MAX_SKEW:
        raise HubRefused(Refusal.CLOCK, f"{signed.node} at {to_db(signed.time)}")


def join_binding(key: bytes, certificate_der: bytes, node: str, sign_key: str) -> str:
    """The MAC that binds an enrolment to the certificate the node saw (see the module's
    docstring), under :func:`code_key`; the hub answers with :func:`join_answer`."""
    message = JOIN_CONTEXT + b"\n".join(
        (hashlib.sha256(certificate_der).hexdigest().encode(), node.encode(), sign_key.encode())
    )
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def join_answer(key: bytes, binding: str, hub_key: str) -> str:
    """The hub's proof that it knows the code too (and names its own signing key)."""
    message = JOIN_CONTEXT + b"answer\n" + binding.encode() + b"\n" + hub_key.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def join_request_text(body: Mapping[str, Any]) -> bytes:
    """What a joining node signs: every field of its enrolment request but the
    signature, as canonical JSON."""
    return JOIN_CONTEXT + canonical_json({k: v for k, v in body.items() if k != "signature"})


_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_code() -> str:
    """A one-time enrolment code for the hub: 15 Crockford Base32 characters (75 bits)
    in three groups, typed by a person."""
    text = "".join(secrets.choice(_ALPHABET) for _ in range(15))
    return f"{text[:5]}-{text[5:10]}-{text[10:]}"


def normal_code(code: str) -> str:
    """A code as typed (lower case, spaces, O for 0, I/L for 1) in its one spelling."""
    text = code.upper().replace(" ", "").replace("-", "")
    return text.translate(str.maketrans("OIL", "011"))


def code_id(code: str) -> bytes:
    """How a code is looked up (sent by the node, kept by the hub; not the code)."""
    return hashlib.sha256(b"gatepass-hub-code-id\n" + normal_code(code).encode()).digest()


def code_key(code: str) -> bytes:
    """The MAC key a code gives both ends (never sent)."""
    return hashlib.sha256(b"gatepass-hub-code-key\n" + normal_code(code).encode()).digest()


def token_hash(token: str) -> bytes:
    """How the hub keeps an account's token: never the token itself."""
    return hashlib.sha256(b"gatepass-hub-token\n" + token.encode()).digest()


def certificate_fingerprint(certificate_der: bytes) -> str:
    """The SHA-256 of a certificate, as a person compares it (groups of four hex)."""
    digest = hashlib.sha256(certificate_der).hexdigest().upper()
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


def bad_request(detail: str) -> HubRefused:
    return HubRefused(Refusal.DAMAGED, detail)


def skew_warning(skew: timedelta) -> str | None:
    """What a node says when its clock is off from the hub's by more than
    :data:`WARN_SKEW` (None: close enough)."""
    if abs(skew) <= WARN_SKEW:
        return None
    minutes = round(abs(skew).total_seconds() / 60)
    if skew > timedelta(0):
        return tr("This computer's clock is {minutes} minutes behind the hub's.", minutes=minutes)
    return tr("This computer's clock is {minutes} minutes ahead of the hub's.", minutes=minutes)
