"""The checkpoint itself: its identity (``meta``), its keys and its audit log."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from kiosk.core.clock import to_db, utcnow
from kiosk.core.ids import uuid7
from kiosk.core.keys import Keyring, TrustedKey, public_key_from_text, public_key_to_text
from kiosk.core.passes import PassKind
from kiosk.store.db import write


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
