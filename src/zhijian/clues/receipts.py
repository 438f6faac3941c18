"""Receipts of the anonymous clue channel (GlobaLeaks model).

- A receipt is ``digits`` random decimal digits from :mod:`secrets` (16 → 53.15 bits), shown once.
- The store keeps only an Argon2id hash of it (random per-hash salt, parameters from
  ``policy.yaml``) and a **lookup prefix**: the first hex characters of HMAC-SHA256(system key,
  receipt). A lookup reads the few rows with that prefix and verifies their Argon2 hashes, so it is
  not a scan of every hash, and the prefix alone (20 bits) does not identify a receipt.
- The system key is 32 random bytes in ``<workspace>/secrets/clue_lookup.key`` (mode 0600),
  created on first use.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import os
import secrets
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

POLICY_FILE = Path(__file__).with_name("policy.yaml")
KEY_FILE = Path("secrets") / "clue_lookup.key"


@functools.cache
def policy() -> dict[str, Any]:
    data = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))

    def flat(d: Any) -> Any:
        if isinstance(d, dict) and "value" in d and "source" in d:
            return d["value"]
        if isinstance(d, dict):
            return {k: flat(v) for k, v in d.items()}
        return d

    return flat(data)


@functools.cache
def hasher() -> PasswordHasher:
    a = policy()["argon2"]
    return PasswordHasher(time_cost=a["time_cost"], memory_cost=a["memory_kib"], parallelism=a["parallelism"])


def entropy_bits(digits: int | None = None) -> float:
    return (digits or policy()["receipt"]["digits"]) * math.log2(10)


def new_receipt(digits: int | None = None) -> str:
    n = digits or policy()["receipt"]["digits"]
    return str(secrets.randbelow(10**n)).zfill(n)


def normalise(receipt: str) -> str | None:
    """Digits only (spaces and dashes the reporter typed are dropped); None when not a receipt."""
    d = "".join(c for c in (receipt or "") if c not in " -\u3000\t")
    if (
        len(d) < 16 or len(d) > 32 or not d.isascii() or not d.isdigit()
    ):  # policy.clues.receipt_digits: 16..32
        return None
    return d


def formatted(receipt: str) -> str:
    return " ".join(receipt[i : i + 4] for i in range(0, len(receipt), 4))


_KEYS: dict[tuple, bytes] = {}


def system_key(ws_root: Path) -> bytes:
    """The workspace's lookup key (created on first use; read again only when the file changes)."""
    path = Path(ws_root) / KEY_FILE
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return _system_key(path)
    sig = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    k = _KEYS.get(sig)
    if k is None:
        if len(_KEYS) > 64:
            _KEYS.clear()
        _KEYS[sig] = k = path.read_bytes()
    return k


def _system_key(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = secrets.token_bytes(32)
    # a temporary name of its own per writer: with one shared name, a second creator's O_TRUNC would
    # rewrite the inode the first one had already linked as the key file (receipts issued in between
    # would no longer resolve)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    try:
        os.link(tmp, path)  # first writer wins; a concurrent creator reads the winner's key
    except FileExistsError:
        pass
    tmp.unlink(missing_ok=True)
    return path.read_bytes()


def lookup_prefix(key: bytes, receipt: str) -> str:
    n = policy()["receipt"]["lookup_hex_chars"]
    return hmac.new(key, receipt.encode(), hashlib.sha256).hexdigest()[:n]


def hash_receipt(receipt: str) -> str:
    return hasher().hash(receipt)


def verify(receipt_hash: str, receipt: str) -> bool:
    try:
        return hasher().verify(receipt_hash, receipt)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
