"""The checkpoint itself: its identity (``meta``), its keys and its audit log."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import to_db, utcnow
from kiosk.core.errors import UserError
from kiosk.core.i18n import tr
from kiosk.core.ids import uuid7
from kiosk.core.keys import (
    Keyring,
    TrustedKey,
    generate_private_key,
    key_id_of,
    load_private_key,
    public_key_from_text,
    public_key_to_text,
    save_private_key,
)
from kiosk.core.passes import PassKind
from kiosk.home import Home
from kiosk.store.db import connect, write


def get_meta(db: Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else default


def set_meta(db: Database, key: str, value: str) -> None:
    with write(db):
        db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )


def checkpoint_id(db: Database) -> str:
    found = get_meta(db, "checkpoint_id")
    if found is None:  # pragma: no cover - init always sets it
        raise RuntimeError("checkpoint has no id: was it initialised?")
    return found


def checkpoint_name(db: Database) -> str:
    return get_meta(db, "name") or ""


def record_audit(db: Database, actor: str, action: str, detail: dict[str, Any]) -> None:
    """One row in the audit log (inside the caller's transaction when there is one)."""
    with write(db):
        db.table("audit").insert(
            {
                "id": uuid7(),
                "at": to_db(utcnow()),
                "actor": actor,
                "action": action,
                "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
            }
        )


PIN_SETTING = "admin_pin_hash"  # the one setting whose values never reach the log


def record_settings_changes(
    db: Database, actor: str, via: str, changes: Iterable[tuple[str, Any, Any]]
) -> None:
    """One audit row per changed setting: ``settings.set`` with its name, old and new
    value and where it was changed (``via``: "cli" or "window"); a new admin PIN is
    ``pin.change`` with no value at all (never the hash)."""
    with write(db):
        for name, old, new in changes:
            if name == PIN_SETTING:
                record_audit(db, actor, "pin.change", {"via": via, "first": not old})
            else:
                record_audit(
                    db, actor, "settings.set", {"name": name, "old": old, "new": new, "via": via}
                )


def trust_keys(db: Database, keys: Iterable[TrustedKey]) -> tuple[int, int]:
    """Add public keys to the keyring. Returns (added, already known)."""
    added = known = 0
    with write(db):
        for key in keys:
            text = public_key_to_text(key.public_key)
            row = db.execute("SELECT public_key FROM keys WHERE key_id = ?", [key.key_id])
            existing = row.fetchone()
            if existing is not None:
                known += 1
                continue
            db.table("keys").insert(
                {
                    "key_id": key.key_id,
                    "public_key": text,
                    "kinds": ",".join(sorted(k.value for k in key.kinds)),
                    "label": key.label,
                    "added_at": to_db(utcnow()),
                }
            )
            added += 1
    return added, known


def trusted_keys(db: Database) -> list[TrustedKey]:
    rows = db.execute(
        "SELECT key_id, public_key, kinds, label FROM keys WHERE retired_at IS NULL "
        "ORDER BY added_at"
    ).fetchall()
    return [
        TrustedKey(
            key_id=key_id,
            public_key=public_key_from_text(public),
            kinds=frozenset(PassKind(k) for k in kinds.split(",") if k),
            label=label,
        )
        for key_id, public, kinds, label in rows
    ]


def load_keyring(db: Database) -> Keyring:
    return Keyring(trusted_keys(db))


def create_checkpoint(
    home: Home, name: str, *, issuer: bool, passphrase: str | None = None, actor: str = "cli"
) -> None:
    """Make a checkpoint: its folder, database, gate key and (``issuer``) issuer key.

    The gate key signs only visitor codes; the issuer key (optionally passphrase-
    protected) signs resident and staff passes. Both public keys are trusted here.
    """
    if home.database.exists():
        raise UserError(tr("A checkpoint already exists at {path}.", path=home.root))
    if issuer and home.private_key.exists():
        raise UserError(
            tr("An issuer key already exists at {path}; move it away first.", path=home.private_key)
        )
    home.ensure()
    if home.anchors.exists():  # a former checkpoint's signed anchors: kept, set aside
        home.anchors.rename(home.anchors.with_name(f"visits.anchors.{uuid7()}.old"))
    name = name.strip()
    keys: list[TrustedKey] = []
    if home.gate_key.exists():
        gate = load_private_key(home.gate_key, None)
    else:
        gate = generate_private_key()
        save_private_key(home.gate_key, gate, None)
    keys.append(
        TrustedKey(
            key_id_of(gate.public_key()),
            gate.public_key(),
            frozenset({PassKind.VISITOR}),
            tr("visitor codes of {name}", name=name),
        )
    )
    if issuer:
        key = generate_private_key()
        save_private_key(home.private_key, key, passphrase)
        keys.append(
            TrustedKey(key_id_of(key.public_key()), key.public_key(), frozenset(PassKind), name)
        )
    db = connect(home.database, create=True)
    try:
        with write(db):
            set_meta(db, "checkpoint_id", uuid7())
            set_meta(db, "name", name)
            set_meta(db, "created_at", to_db(utcnow()))
            trust_keys(db, keys)
            record_audit(db, actor, "checkpoint.init", {"name": name, "issuer": issuer})
    finally:
        db.close()
