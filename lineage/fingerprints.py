"""Fingerprints: sha256 of a segment's normalised text.

Normalisation is Unicode NFC, every run of whitespace folded to one space, and the ends trimmed, so
that reformatting a dataset (key order, JSONL vs Parquet, one chat layout vs another) keeps
fingerprints. Fingerprints are stored as 32 raw bytes and shown as lowercase hex.
"""

from __future__ import annotations

import hashlib
import unicodedata

FINGERPRINT_SIZE = 32
_sha256 = hashlib.sha256


def normalise(text: str) -> str:
    """Return the form of `text` that is hashed."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    # str.split() with no argument splits on every Unicode whitespace run and drops the ends.
    return " ".join(text.split())


def fingerprint(text: str) -> bytes:
    """The 32-byte sha256 digest of the normalised text."""
    # normalise() written out: this runs once per segment, millions of times per lint or import.
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return _sha256(" ".join(text.split()).encode("utf-8")).digest()


def fingerprint_hex(text: str) -> str:
    """The fingerprint of `text` as 64 hex characters."""
    return fingerprint(text).hex()


def parse_fingerprint(value: str) -> bytes:
    """Turn a 64-character hex fingerprint into bytes; raise ValueError if it is not one."""
    value = value.strip().lower()
    if len(value) != FINGERPRINT_SIZE * 2:
        raise ValueError(f"a fingerprint has {FINGERPRINT_SIZE * 2} hex characters, got {len(value)}")
    return bytes.fromhex(value)
