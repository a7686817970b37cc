"""Pass signing and verification speed, one thread.

    python bench/bench_verify.py [--tokens 20000]

Signs ``--tokens`` passes with 3 keys (an issuer key, a retired issuer key still
trusted during rotation, a gate key for visitor codes), then verifies every one with
``parse_pass`` against a keyring of those 3 keys, and also times refusing forged
tokens (one flipped signature bit). Target: at least 5,000 verifications per second.
"""

from __future__ import annotations

import argparse
import base64
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cryptography

from kiosk.core.keys import Keyring, TrustedKey, generate_private_key, key_id_of
from kiosk.core.passes import (
    PREFIX,
    InvalidPass,
    PassClaims,
    PassKind,
    new_serial,
    parse_pass,
    sign_pass,
)

TARGET = 5_000


def flip_signature_bit(token: str) -> str:
    raw = bytearray(base64.b32decode(token[len(PREFIX) :] + "===="))
    raw[-1] ^= 1
    return PREFIX + base64.b32encode(bytes(raw)).decode("ascii").rstrip("=")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=20_000)
    count = parser.parse_args().tokens

    keys = [generate_private_key() for _ in range(3)]
    roles = [frozenset(PassKind), frozenset(PassKind), frozenset({PassKind.VISITOR})]
    keyring = Keyring(
        TrustedKey(key_id_of(k.public_key()), k.public_key(), kinds, f"bench {i}")
        for i, (k, kinds) in enumerate(zip(keys, roles, strict=True))
    )
    start = datetime.now(UTC).replace(microsecond=0)
    jobs = []
    for i in range(count):
        key = keys[i % 3]
        kind = PassKind.VISITOR if i % 3 == 2 else (PassKind.RESIDENT, PassKind.STAFF)[i % 2]
        claims = PassClaims(
            key_id_of(key.public_key()), new_serial(), kind, start, start + timedelta(days=30)
        )
        jobs.append((claims, key))

    t = time.perf_counter()
    tokens = [sign_pass(claims, key) for claims, key in jobs]
    sign_rate = count / (time.perf_counter() - t)

    t = time.perf_counter()
    parsed = [parse_pass(token, keyring) for token in tokens]
    verify_rate = count / (time.perf_counter() - t)
    assert parsed == [claims for claims, _ in jobs]

    forged = [flip_signature_bit(token) for token in tokens[: max(1, count // 4)]]
    t = time.perf_counter()
    refused = 0
    for token in forged:
        try:
            parse_pass(token, keyring)
        except InvalidPass:
            refused += 1
    reject_rate = len(forged) / (time.perf_counter() - t)
    assert refused == len(forged)

    print(
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"{platform.machine()}; {count} tokens, keyring of {len(keyring)} keys, one thread"
    )
    verdict = "PASS" if verify_rate >= TARGET else "FAIL"
    print(
        f"figures: verify {verify_rate:,.0f}/s  sign {sign_rate:,.0f}/s  "
        f"refuse-forged {reject_rate:,.0f}/s  [target verify >= {TARGET:,}/s: {verdict}]"
    )


if __name__ == "__main__":
    main()
