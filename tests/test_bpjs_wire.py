"""BPJS wire rules from known-answer vectors (tests/vectors/bpjs.json, written once with
openssl, sha256sum and the reference JavaScript lz-string), and answers classified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.bpjs import wire
from edge.bpjs.wire import Outcome, WireError

V = json.loads((Path(__file__).parent / "vectors" / "bpjs.json").read_text(encoding="utf-8"))
CREDS = (V["cons_id"], V["secret"], V["timestamp"])


def test_signature_matches_openssl_hmac() -> None:
    assert wire.signature(*CREDS) == V["signature"]


def test_answer_key_is_sha256_of_consid_secret_timestamp_and_iv_its_first_half() -> None:
    key, iv = wire.answer_key(*CREDS)
    assert (key.hex(), iv.hex()) == (V["key_hex"], V["iv_hex"])


def test_an_answer_sealed_by_openssl_opens() -> None:
    assert wire.open_response(V["sealed_response"], *CREDS) == V["opened_response"]


@pytest.mark.parametrize(("plain", "encoded"), V["lz_string"])
def test_lz_string_matches_the_reference_implementation(plain: str, encoded: str) -> None:
    assert wire.lz_decompress(encoded) == plain
    assert wire.lz_compress(plain) == encoded


def test_the_headers_carry_the_signature_and_the_form_content_type() -> None:
    h = wire.headers(V["cons_id"], V["secret"], "uk", V["timestamp"])
    assert h["X-signature"] == V["signature"]
    assert h["X-timestamp"] == str(V["timestamp"])
    assert h["Content-Type"] == "Application/x-www-form-urlencoded"


@pytest.mark.parametrize("sealed", ["", "not base64!", "QUFBQQ==", V["sealed_response"][:-8]])
def test_a_damaged_answer_is_a_wire_error(sealed: str) -> None:
    with pytest.raises(WireError):
        wire.open_response(sealed, *CREDS)


def _doc(meta_key: str, code: object, response: object = None) -> bytes:
    doc: dict[str, object] = {meta_key: {"code": code, "message": "m"}}
    if response is not None:
        doc["response"] = response
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("body", "outcome", "code"),
    [
        (_doc("metaData", 200, V["sealed_response"]), Outcome.ACCEPTED, 200),
        (_doc("metadata", 200), Outcome.ACCEPTED, 200),
        (_doc("metadata", 201), Outcome.REFUSED, 201),
        (_doc("metaData", "201"), Outcome.REFUSED, 201),
        (_doc("metaData", 401), Outcome.REFUSED, 401),
        (_doc("metaData", 500), Outcome.RETRY, 500),
        (_doc("metaData", "abc"), Outcome.RETRY, None),
        (b"<html><body>502 Bad Gateway</body></html>", Outcome.RETRY, None),
        (b"", Outcome.RETRY, None),
        (b"[]", Outcome.RETRY, None),
        (b'{"response": "x"}', Outcome.RETRY, None),
    ],
)
def test_answers_are_accepted_refused_or_retried(body: bytes, outcome: Outcome,
                                                 code: int | None) -> None:
    answer = wire.read_answer(body, *CREDS)
    assert (answer.outcome, answer.code) == (outcome, code)


def test_an_accepted_answer_carries_its_decrypted_response() -> None:
    answer = wire.read_answer(_doc("metaData", 200, V["sealed_response"]), *CREDS)
    assert answer.response == json.loads(V["opened_response"])
