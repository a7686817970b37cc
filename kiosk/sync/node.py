"""A node's side of the district hub (docs/hub.md, "The nodes"): enrolling with a hub,
and one sync (pull what the compound's feed has past our cursor and apply it as an
imported bundle is applied; freeze our outbox and push the change sets the hub lacks).

Syncing never touches the scan path: it runs on its own connection (in the window, on
a thread of its own), its writes are the exchange's paced transactions, and every
decision at the gate is made and committed locally exactly as offline.

What a node keeps in ``meta`` (the database is encrypted at rest): the hub's address,
its pinned certificate and key, the feed cursor, the hub's version vector as last
seen, the clock skew, and the last sync's time and outcome.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from kiosk.core import hubwire
from kiosk.core.bundle import BundleRefused, ChangeSet, check_line
from kiosk.core.clock import from_db, to_db
from kiosk.core.errors import UserError
from kiosk.core.hubwire import HubRefused, Refusal
from kiosk.core.i18n import tr
from kiosk.core.ids import uuid7
from kiosk.core.keys import public_key_to_text
from kiosk.home import Home
from kiosk.store import outbox
from kiosk.store.checkpoint import checkpoint_id, checkpoint_name, get_meta, set_meta
from kiosk.store.db import Pacer, write
from kiosk.store.enrolment import found_compound
from kiosk.store.exchange import (
    OFFICE_PACE,
    Compound,
    add_as_of,
    apply_change_sets,
    check_join_claim,
    compound,
    confirm_join,
    freeze,
    join_claim,
    lines_for,
    pace_of,
    require_compound,
    trust_list,
)
from kiosk.sync.client import HubClient, certificate_der, fetch_certificate

log = logging.getLogger(__name__)

URL = "hub.url"
CERT = "hub.cert"
HUB_KEY = "hub.key"
CURSOR = "hub.cursor"
VECTOR = "hub.vector"
SKEW = "hub.skew_s"
LAST_SYNC = "hub.last_sync"
LAST_OK = "hub.last_ok"
LAST_ERROR = "hub.last_error"
LAST_REASON = "hub.last_reason"

INTERVAL = timedelta(minutes=1)
BACKOFF_MAX = timedelta(minutes=15)


def joined(db: Database) -> bool:
    return bool(get_meta(db, URL))


def client_for(
    db: Database, key: Ed25519PrivateKey, clock: Callable[[], datetime] | None = None
) -> HubClient:
    url, cert = get_meta(db, URL), get_meta(db, CERT)
    if not url or not cert:
        raise UserError(tr("This checkpoint is not enrolled with a hub: kiosk hub join first."))
    comp = require_compound(db)
    skew = timedelta(seconds=float(get_meta(db, SKEW) or 0))
    return HubClient(
        url,
        cert,
        node=comp.node,
        key=key,
        skew=skew,
        clock=clock or (lambda: datetime.now(UTC)),
    )


def hub_skew(db: Database, timeout_s: float = 5.0) -> timedelta | None:
    """The hub's clock minus ours, asked now (an unsigned hello to the pinned hub);
    None when this checkpoint has no hub or its answer carries no date. Raises
    :class:`HubRefused` when the hub cannot be reached."""
    url, cert = get_meta(db, URL), get_meta(db, CERT)
    if not url or not cert:
        return None
    with HubClient(url, cert, timeout=httpx.Timeout(timeout_s)) as client:
        client.hello()
        return client.skew


# --- enrolling with a hub ----------------------------------------------------------------------


@dataclass(frozen=True)
class Joined:
    url: str
    fingerprint: str
    role: str
    compound: str


def join_hub(
    db: Database,
    home: Home,
    key: Ed25519PrivateKey,
    url: str,
    code: str,
    *,
    now: datetime,
) -> Joined:
    """Enrol this node with the hub at ``url`` with a one-time ``code`` (an office's
    from the hub's administrator, a gate's from its office): the certificate the hub
    presents is bound to the code and pinned (``kiosk.core.hubwire``). A checkpoint not
    yet in a compound joins as the office of a new one, founded here only once the hub
    has accepted it: a wrong code, a gate's code or a hub out of reach leave it as it
    was."""
    comp = compound(db)
    founding = uuid7() if comp is None else None
    node = checkpoint_id(db) if comp is None else comp.node
    role = "office" if comp is None else comp.role
    pem = fetch_certificate(url)
    der = certificate_der(pem)
    sign_key = public_key_to_text(key.public_key())
    body: dict[str, Any] = {
        "code_id": hubwire.code_id(code).hex(),
        "binding": hubwire.join_binding(hubwire.code_key(code), der, node, sign_key),
        "node": node,
        "role": role,
        "sign_key": sign_key,
        "name": checkpoint_name(db) or role,
        "compound": founding or (comp.id if comp else ""),
    }
    claim = None if comp is None or comp.is_office else join_claim(db, key, home)
    if claim is not None:
        body["join_claim"] = claim
    signature = key.sign(hubwire.join_request_text(body))
    body["signature"] = base64.b64encode(signature).decode("ascii")
    with HubClient(url, pem) as client:
        answer = client.join(body)
    expected = hubwire.join_answer(hubwire.code_key(code), body["binding"], str(answer["hub_key"]))
    if answer.get("answer") != expected:
        raise HubRefused(Refusal.PINNING, "the hub's answer does not know the code")
    if founding is not None:
        comp = found_compound(db, home, key, now=now, compound_id=founding)
    assert comp is not None
    with write(db):
        set_meta(db, URL, url.rstrip("/"))
        set_meta(db, CERT, pem)
        set_meta(db, HUB_KEY, str(answer["hub_key"]))
        set_meta(db, CURSOR, "0")
        set_meta(db, VECTOR, "{}")
        db.execute("DELETE FROM meta WHERE key IN (?, ?)", [LAST_ERROR, LAST_REASON])
        outbox.install(db, comp.role)
    return Joined(url, hubwire.certificate_fingerprint(der), comp.role, comp.id)


def enrol_gate_code(db: Database, key: Ed25519PrivateKey, name: str) -> str:
    """(Office) A one-time code with which the gate ``name`` enrols with our hub."""
    from kiosk.store.exchange import node_named

    comp = require_compound(db)
    if not comp.is_office:
        raise UserError(tr("Gates are enrolled with the hub at the office."))
    node = node_named(db, name)
    if node["role"] != "gate" or node["removed_at"]:
        raise UserError(tr("{name} is not a gate of this compound.", name=name))
    with client_for(db, key) as client:
        answer = client.signed(
            "POST",
            "/v1/codes",
            json.dumps(
                {"node": node["id"], "name": node["name"], "sign_key": node["sign_key"]}
            ).encode("utf-8"),
            content_type="application/json",
        )
    return str(answer["code"])


# --- one sync ----------------------------------------------------------------------------------


@dataclass
class Synced:
    pulled_sets: int = 0
    applied_rows: int = 0
    waiting: int = 0
    pushed_sets: int = 0
    pushed_rows: int = 0
    joins: list[str] = field(default_factory=list)
    skew: timedelta = timedelta(0)

    def as_json(self) -> dict[str, Any]:
        return {
            "pulled_sets": self.pulled_sets,
            "applied_rows": self.applied_rows,
            "waiting": self.waiting,
            "pushed_sets": self.pushed_sets,
            "pushed_rows": self.pushed_rows,
            "joins": self.joins,
            "skew_s": round(self.skew.total_seconds()),
        }


def sync_once(
    db: Database,
    home: Home,
    key: Ed25519PrivateKey,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    rules: Mapping[str, Any] | None = None,
    gap_s: float | None = None,
) -> Synced:
    """One sync with the hub: pull and apply, then freeze and push. Records its outcome
    (``sync_status``); a hub that is away raises ``HubRefused(UNAVAILABLE)`` with
    nothing lost (what was applied stays, the cursor moves only past what is kept)."""
    comp = require_compound(db)
    done = Synced()
    try:
        with client_for(db, key, clock) as client:
            _pull(db, home, comp, client, done, clock, gap_s)
            _push(db, comp, client, key, done, clock, rules)
            done.skew = client.skew
    except HubRefused as exc:
        log.warning("sync with the hub failed: %s (%s)", exc.reason.value, exc.detail)
        _note(db, clock(), error=exc)
        raise
    _note(db, clock(), skew=done.skew)
    log.info("synced with the hub: %s", done.as_json())
    return done


def _note(
    db: Database,
    now: datetime,
    *,
    error: HubRefused | None = None,
    skew: timedelta | None = None,
) -> None:
    with write(db):
        set_meta(db, LAST_SYNC, to_db(now))
        if error is None:
            set_meta(db, LAST_OK, to_db(now))
            db.execute("DELETE FROM meta WHERE key IN (?, ?)", [LAST_ERROR, LAST_REASON])
        else:
            set_meta(db, LAST_ERROR, str(error))
            set_meta(db, LAST_REASON, error.reason.value)
        if skew is not None:
            set_meta(db, SKEW, str(round(skew.total_seconds(), 1)))


def _pull(
    db: Database,
    home: Home,
    comp: Compound,
    client: HubClient,
    done: Synced,
    clock: Callable[[], datetime],
    gap_s: float | None,
) -> None:
    while True:
        cursor = int(get_meta(db, CURSOR) or 0)
        page = client.signed("GET", "/v1/pull", params={"after": cursor})
        if comp.is_office:
            _confirm_joins(db, page.get("joins") or [], clock(), done)
        lines = [str(line).encode("utf-8") for line in page.get("lines") or []]
        applied, waiting = apply_lines(db, home, comp, lines, clock(), gap_s)
        done.pulled_sets += len(lines)
        done.applied_rows += applied
        done.waiting = waiting
        with write(db):
            set_meta(db, CURSOR, str(int(page["next"])))
            set_meta(db, VECTOR, json.dumps(page.get("vector") or {}, sort_keys=True))
        if not page.get("more"):
            return


def apply_lines(
    db: Database,
    home: Home,
    comp: Compound,
    lines: Sequence[bytes],
    now: datetime,
    gap_s: float | None = None,
) -> tuple[int, int]:
    """Apply pulled change-set lines as a bundle's are, in feed order. A line by an
    author this node does not trust yet waits for the lines before it (the office's
    node row naming that author comes earlier in the feed); a line still untrusted
    then, or forged, is logged and skipped: a hub cannot make a node apply what its
    author did not sign."""
    applied_total, waiting = 0, 0
    batch: list[ChangeSet] = []
    trust = trust_list(db)

    def flush() -> None:
        nonlocal applied_total, waiting, batch
        if batch:
            applied, waiting = apply_change_sets(db, comp, home, batch, now, gap_s=gap_s)
            applied_total += applied
            batch = []

    for line in (raw.rstrip(b"\n") for raw in lines):
        try:
            batch.append(check_line(line, comp.id, trust))
            continue
        except BundleRefused:
            flush()
            trust = trust_list(db)
        try:
            batch.append(check_line(line, comp.id, trust))
        except BundleRefused as exc:
            log.warning("skipped a change set from the hub: %s (%s)", exc, exc.detail)
    flush()
    return applied_total, waiting


def _confirm_joins(
    db: Database, joins: Sequence[Mapping[str, Any]], now: datetime, done: Synced
) -> None:
    for item in joins:
        try:
            joining = check_join_claim(db, item.get("node"), item.get("claim"))
        except BundleRefused as exc:
            log.warning("a gate's enrolment through the hub was refused: %s", exc.detail)
            continue
        if joining is not None:
            confirm_join(db, joining, now)
            done.joins.append(str(joining["name"]))


def _hub_vector(db: Database) -> dict[str, int]:
    try:
        found = json.loads(get_meta(db, VECTOR) or "{}")
        return {str(k): int(v) for k, v in found.items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def _push(
    db: Database,
    comp: Compound,
    client: HubClient,
    key: Ed25519PrivateKey,
    done: Synced,
    clock: Callable[[], datetime],
    rules: Mapping[str, Any] | None,
) -> None:
    with write(db):
        outbox.install(db, comp.role)
        if comp.is_office:
            add_as_of(db, comp, clock(), rules)
    freeze(
        db,
        comp,
        key,
        clock(),
        pacer=Pacer(pace_of(comp).gap_s if not comp.is_office else OFFICE_PACE.gap_s),
    )
    # our own change sets first, in pages of their own: the office's node rows name the
    # gates whose change sets it relays, and the hub checks a page against the keys it
    # held before that page (a relayed gate it does not know yet refuses the whole page)
    sets = sorted(lines_for(db, "", _hub_vector(db)), key=lambda c: c.author != comp.node)
    page: list[bytes] = []
    size = 0
    for i, change in enumerate(sets):
        line = change.line()
        relayed_first = i > 0 and change.author != comp.node and sets[i - 1].author == comp.node
        if page and (size + len(line) > hubwire.PAGE_BYTES or relayed_first):
            _send_page(db, client, page, done)
            page, size = [], 0
        page.append(line)
        size += len(line)
        done.pushed_rows += len(change.rows)
    if page:
        _send_page(db, client, page, done)


def _send_page(db: Database, client: HubClient, page: list[bytes], done: Synced) -> None:
    answer = client.signed("POST", "/v1/push", b"".join(page), content_type="application/x-ndjson")
    done.pushed_sets += len(page)
    with write(db):
        set_meta(db, VECTOR, json.dumps(answer.get("vector") or {}, sort_keys=True))


# --- what the status bar and `kiosk sync status` show -----------------------------------------


@dataclass(frozen=True)
class SyncStatus:
    joined: bool
    url: str | None
    last_sync: datetime | None
    last_ok: datetime | None
    error: str | None
    reason: str | None
    waiting_rows: int  # this node's changes the hub has not got (as far as we know)
    skew: timedelta
    skew_warning: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "joined": self.joined,
            "url": self.url,
            "last_sync": to_db(self.last_sync) if self.last_sync else None,
            "last_ok": to_db(self.last_ok) if self.last_ok else None,
            "error": self.error,
            "reason": self.reason,
            "waiting_rows": self.waiting_rows,
            "skew_s": round(self.skew.total_seconds()),
            "skew_warning": self.skew_warning,
        }


def waiting_rows(db: Database) -> int:
    """This node's changes the hub does not hold as far as we know: outbox rows not
    frozen yet, and frozen ones past the hub's vector."""
    comp = compound(db)
    if comp is None:
        return 0
    seen = _hub_vector(db).get(comp.node, 0)
    row = db.execute("SELECT max(seq) FROM outbox").fetchone()
    newest = max(
        int(row[0] or 0),
        int(
            db.execute(
                "SELECT max(last) FROM change_sets WHERE author = ?", [comp.node]
            ).fetchone()[0]
            or 0
        ),
    )
    return max(newest - seen, 0)


def sync_status(db: Database) -> SyncStatus:
    def moment(key: str) -> datetime | None:
        text = get_meta(db, key)
        return from_db(text) if text else None

    skew = timedelta(seconds=float(get_meta(db, SKEW) or 0))
    return SyncStatus(
        joined=joined(db),
        url=get_meta(db, URL),
        last_sync=moment(LAST_SYNC),
        last_ok=moment(LAST_OK),
        error=get_meta(db, LAST_ERROR),
        reason=get_meta(db, LAST_REASON),
        waiting_rows=waiting_rows(db) if joined(db) else 0,
        skew=skew,
        skew_warning=hubwire.skew_warning(skew),
    )


def next_delay(failures: int) -> timedelta:
    """When to try again after ``failures`` failed syncs in a row: every minute while
    they succeed, then 1, 2, 4, ... minutes up to :data:`BACKOFF_MAX`."""
    if failures <= 0:
        return INTERVAL
    delay: timedelta = min(INTERVAL * (2 ** min(failures - 1, 10)), BACKOFF_MAX)
    return delay
