"""The wire rules of BPJS Kesehatan's web services: signature, answer decryption, LZ-string.

Every request carries ``X-cons-id``, ``X-timestamp`` (UTC epoch seconds), ``X-signature``
= base64(HMAC-SHA256(secret, "consid&timestamp")) and ``user_key``. An answer's
``response`` is AES-256-CBC encrypted with key = sha256(consid + secret + timestamp) and
IV = the first 16 bytes of that key, then LZ-string compressed (EncodedURIComponent).

>>> signature("1234", "rahasia", 1700000000)
'KPRS9TtuHrVFuDkmpci6eMlvW4INEXDsL4Hh+T+auLo='
>>> open_response(seal_response('{"a":1}', "1234", "rahasia", 7), "1234", "rahasia", 7)
'{"a":1}'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
from dataclasses import dataclass
from enum import Enum
from typing import Any

import lzstring
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class WireError(ValueError):
    """An answer that cannot be read (not JSON, bad ciphertext, bad compression)."""


def signature(cons_id: str, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{cons_id}&{timestamp}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def headers(cons_id: str, secret: str, user_key: str, timestamp: int) -> dict[str, str]:
    """The headers of every request (the service wants this Content-Type for JSON bodies)."""
    return {
        "X-cons-id": cons_id,
        "X-timestamp": str(timestamp),
        "X-signature": signature(cons_id, secret, timestamp),
        "user_key": user_key,
        "Content-Type": "Application/x-www-form-urlencoded",
    }


def answer_key(cons_id: str, secret: str, timestamp: int) -> tuple[bytes, bytes]:
    """(key, iv) that open the answer to the request made at ``timestamp``."""
    key = hashlib.sha256(f"{cons_id}{secret}{timestamp}".encode()).digest()
    return key, key[:16]


def lz_decompress(text: str) -> str:
    """LZ-string ``decompressFromEncodedURIComponent``, for any Unicode text.

    The ``lzstring`` package works on UTF-16 code units as JavaScript does; characters
    beyond the BMP come back as surrogate pairs, joined here."""
    try:
        units = lzstring.LZString().decompressFromEncodedURIComponent(text)
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise WireError("answer is not LZ-string data") from e
    if units is None:
        raise WireError("answer is not LZ-string data")
    try:
        return str(units).encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeError as e:
        raise WireError("answer is not LZ-string data") from e


def lz_compress(text: str) -> str:
    """LZ-string ``compressToEncodedURIComponent`` (the mock service uses it)."""
    raw = text.encode("utf-16-le")
    units = "".join(chr(u) for u in struct.unpack(f"<{len(raw) // 2}H", raw))
    return str(lzstring.LZString().compressToEncodedURIComponent(units))


def open_response(sealed: str, cons_id: str, secret: str, timestamp: int) -> str:
    """Decrypt and decompress an answer's ``response`` field into its JSON text."""
    key, iv = answer_key(cons_id, secret, timestamp)
    try:
        data = base64.b64decode(sealed, validate=True)
        dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = dec.update(data) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
        return lz_decompress(plain.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise WireError(f"answer cannot be decrypted: {e}") from e


def seal_response(text: str, cons_id: str, secret: str, timestamp: int) -> str:
    """The inverse of ``open_response`` (what the service does; used by the mock)."""
    key, iv = answer_key(cons_id, secret, timestamp)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(lz_compress(text).encode("utf-8")) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(enc.update(padded) + enc.finalize()).decode("ascii")


class Outcome(Enum):
    ACCEPTED = "accepted"  # metaData code 200
    REFUSED = "refused"  # code 201 (or another 2xx/4xx code): definitive, never retried
    RETRY = "retry"  # no usable answer: the request is sent again later


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    code: int | None
    message: str
    response: Any = None


def read_answer(body: bytes, cons_id: str, secret: str, timestamp: int) -> Answer:
    """Classify an HTTP body: accepted, refused (definitive), or retry (unreadable)."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        snippet = body[:40].decode("utf-8", "replace").strip() or "(empty)"
        return Answer(Outcome.RETRY, None, f"not JSON: {snippet}")
    meta = doc.get("metaData", doc.get("metadata")) if isinstance(doc, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("code"), int | str):
        return Answer(Outcome.RETRY, None, "no metaData in the answer")
    try:
        code = int(meta["code"])
    except ValueError:
        return Answer(Outcome.RETRY, None, f"metaData code {meta['code']!r}")
    message = str(meta.get("message", ""))
    if code >= 500:
        return Answer(Outcome.RETRY, code, message)
    response = _response(doc.get("response"), cons_id, secret, timestamp)
    outcome = Outcome.ACCEPTED if code == 200 else Outcome.REFUSED
    return Answer(outcome, code, message, response)


def _response(sealed: object, cons_id: str, secret: str, timestamp: int) -> Any:
    if not isinstance(sealed, str) or not sealed:
        return sealed
    try:
        return json.loads(open_response(sealed, cons_id, secret, timestamp))
    except (WireError, ValueError):
        return None
