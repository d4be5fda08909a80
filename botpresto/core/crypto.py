"""AES-GCM sealing for values stored at rest.

A sealed value reads ``v2:<key id>:<base64url(nonce + ciphertext + tag)>``. The
key id lets decryption pick its key directly, so keys can rotate: the first
key of the ring seals, every key opens. The associated data names where the
value belongs: model and field, and for ``v2`` the row (a bot's uuid), so a
value copied into another column or another bot's row does not open.
``v1`` values (column only) still open; rotate_encryption_keys re-seals them as ``v2``.

The ring is read from the ENCRYPTION_KEYS setting when the apps load (CoreConfig.ready),
so a bad value stops the service at start; with DEBUG and no keys, a development key is
derived from SECRET_KEY, and the log says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

VERSION = "v2"  # bound to its row
COLUMN_ONLY = "v1"  # older: bound to its column only; opens, is never written
NONCE_BYTES = 12  # 96 bits, the size AES-GCM is designed for
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Standard or URL-safe base64 (not mixed), padding only at the end: anything else is a typo or a
# paste gone wrong, and Python's lenient decoder would silently skip it.
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$")


class KeyRingError(ValueError):
    """The configured key ring is unusable."""


class DecryptionError(Exception):
    """A stored value could not be opened by any key of the ring."""

    silent_variable_failure = True  # a template shows it as empty instead of failing the whole page


@dataclass(frozen=True)
class Key:
    id: str
    secret: bytes

    def __repr__(self) -> str:  # never show key material
        return f"Key(id={self.id!r})"


class KeyRing:
    def __init__(self, keys: list[Key]) -> None:
        if not keys:
            raise KeyRingError("the key ring is empty")
        self.keys = {key.id: key for key in keys}
        if len(self.keys) != len(keys):
            raise KeyRingError("two keys share an id")
        self.primary = keys[0]
        self._ciphers = {key.id: AESGCM(key.secret) for key in keys}

    def __repr__(self) -> str:
        return f"KeyRing(ids={list(self.keys)!r})"

    def seal(self, plaintext: str, *, context: str, row: str, version: str = VERSION) -> str:
        """Seal for one column of one row (``row``: the row's uuid). ``version=COLUMN_ONLY`` only
        for undoing the migration that binds values to rows (older code opens nothing else)."""
        nonce = os.urandom(NONCE_BYTES)
        key = self.primary
        blob = self._ciphers[key.id].encrypt(nonce, plaintext.encode(), _aad(version, key.id, context, row))
        return f"{version}:{key.id}:{base64.urlsafe_b64encode(nonce + blob).decode()}"

    def open(self, sealed: str, *, context: str, row: str | None) -> str:
        version, key_id, payload = _split(sealed, context)
        if version == VERSION and row is None:
            raise DecryptionError(f"{context}: the value is bound to its row, and no row was given")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"{context}: sealed with key {key_id!r}, which is not in ENCRYPTION_KEYS")
        try:
            raw = base64.urlsafe_b64decode(payload)
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(version, key_id, context, row))
        except (InvalidTag, binascii.Error, ValueError):
            raise DecryptionError(
                f"{context}: the stored value does not open (tampered, or moved from another column or row)"
            ) from None
        return plain.decode()

    def is_current(self, sealed: str, *, version: str = VERSION) -> bool:
        """Sealed as this ring seals today: row-bound, under the primary key."""
        found, key_id, _ = _split(sealed, "value")
        return found == version and key_id == self.primary.id


def _aad(version: str, key_id: str, context: str, row: str | None) -> bytes:
    if version == COLUMN_ONLY:
        return f"botpresto:{version}:{key_id}:{context}".encode()
    return f"botpresto:{version}:{key_id}:{context}:{row}".encode()


def _split(sealed: str, context: str) -> tuple[str, str, str]:
    parts = sealed.split(":", 2)
    if len(parts) != 3 or parts[0] not in (VERSION, COLUMN_ONLY):
        raise DecryptionError(f"{context}: the stored value is not in a format this service seals")
    return parts[0], parts[1], parts[2]


def parse_key_ring(value: str) -> KeyRing:
    """Parse ``id:base64key,id:base64key``; the first key seals."""
    keys = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise KeyRingError(f"each entry must read <id>:<base64 key>; got an entry with id {key_id[:32]!r}")
        if not _BASE64.match(encoded):
            raise KeyRingError(f"key {key_id!r} is not valid base64 (only A-Z a-z 0-9 + / or - _, then = padding)")
        try:
            secret = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
        except binascii.Error:
            raise KeyRingError(f"key {key_id!r} is not valid base64") from None
        if len(secret) != 32:
            raise KeyRingError(f"key {key_id!r} must be 32 bytes, not {len(secret)}")
        keys.append(Key(key_id, secret))
    return KeyRing(keys)


def development_key_ring(secret_key: str) -> KeyRing:
    """A stable key for local development, derived from SECRET_KEY."""
    secret = hashlib.sha256(f"botpresto-development-key:{secret_key}".encode()).digest()
    return KeyRing([Key("dev", secret)])


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@lru_cache(maxsize=4)
def _ring(keys: str, secret_key: str, debug: bool) -> KeyRing:
    if keys:
        try:
            return parse_key_ring(keys)
        except KeyRingError as exc:
            raise ImproperlyConfigured(f"ENCRYPTION_KEYS is invalid: {exc}.") from None
    if not debug:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS must be set when DEBUG is off (generate one with "
            "`python -c 'import base64,os; print(\"k1:\" + base64.b64encode(os.urandom(32)).decode())'`)."
        )
    logger.warning("encryption_development_key reason=ENCRYPTION_KEYS_unset (DEBUG only; never in production)")
    return development_key_ring(secret_key)


def key_ring() -> KeyRing:
    """The configured key ring (parsed once per value of the settings)."""
    return _ring(settings.ENCRYPTION_KEYS, settings.SECRET_KEY, settings.DEBUG)
