"""The cell link's codecs, host (edge.cells.link) and firmware (cellfw.link) alike, against
the shared vectors in firmware/vectors/link_vectors.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.cells import link as host
from edge.cells.emulate import FIRMWARE_DIR, load_firmware

load_firmware()
import cellfw.cobs as fw_cobs  # noqa: E402
import cellfw.crc16 as fw_crc  # noqa: E402
import cellfw.link as fw_link  # noqa: E402

V: dict[str, Any] = json.loads((FIRMWARE_DIR / "vectors" / "link_vectors.json").read_text())
Triple = tuple[int, int, bytes]


def host_stream(data: bytes, reader: host.FrameReader) -> tuple[list[Triple], int]:
    items = reader.feed(data)
    frames = [(f.seq, int(f.kind), f.payload) for f in items if isinstance(f, host.Frame)]
    return frames, sum(isinstance(f, host.FrameError) for f in items)


def fw_stream(data: bytes, reader: Any) -> tuple[list[Triple], int]:
    items = reader.feed(data)
    frames = [(seq, kind, payload) for err, seq, kind, payload in items if err == fw_link.OK]
    return frames, sum(err != fw_link.OK for err, *_ in items)


READERS: list[tuple[str, Callable[[], Any], Callable[[bytes, Any], tuple[list[Triple], int]]]] = [
    ("host", host.FrameReader, host_stream),
    ("firmware", fw_link.Reader, fw_stream),
]
CRCS = {"host": host.crc16, "firmware": fw_crc.crc16}
ENCODERS = {"host": host.cobs_encode, "firmware": fw_cobs.encode}
DECODERS = {"host": host.cobs_decode, "firmware": fw_cobs.decode}
SIDES = ["host", "firmware"]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("vector", V["crc16"], ids=lambda v: v["data"][:12] or "empty")
def test_crc16(side: str, vector: dict[str, Any]) -> None:
    assert CRCS[side](bytes.fromhex(vector["data"])) == vector["crc"]


def test_crc16_check_value() -> None:
    assert any(v["data"] == b"123456789".hex() and v["crc"] == 0x29B1 for v in V["crc16"])


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("vector", V["cobs"], ids=lambda v: v["raw"][:12] or "empty")
def test_cobs_encode_and_decode(side: str, vector: dict[str, Any]) -> None:
    raw, encoded = bytes.fromhex(vector["raw"]), bytes.fromhex(vector["encoded"])
    assert ENCODERS[side](raw) == encoded
    assert DECODERS[side](encoded) == raw


@pytest.mark.parametrize("bad", ["00", "05112233", "0211000201", "ff01"])
def test_cobs_rejects_invalid(bad: str) -> None:
    data = bytes.fromhex(bad)
    with pytest.raises(ValueError):
        host.cobs_decode(data)
    with pytest.raises(ValueError):
        fw_cobs.decode(data)


@pytest.mark.parametrize("vector", V["frames"], ids=lambda v: f"seq{v['seq']}-type{v['type']}")
def test_frame_vectors(vector: dict[str, Any]) -> None:
    seq, kind, payload = vector["seq"], vector["type"], bytes.fromhex(vector["payload"])
    wire = bytes.fromhex(vector["wire"])
    assert host.encode_frame(host.Frame(seq, kind, payload)) == wire
    assert fw_link.encode_frame(seq, kind, payload) == wire
    assert host.cobs_decode(wire[:-1]) == bytes.fromhex(vector["raw"])
    assert host.decode_frame(wire[:-1]) == host.Frame(seq, kind, payload)
    assert fw_link.decode_frame(wire[:-1]) == (fw_link.OK, seq, kind, payload)


@pytest.mark.parametrize(("side", "make", "run"), READERS, ids=[r[0] for r in READERS])
@pytest.mark.parametrize("vector", V["streams"], ids=lambda v: v["name"])
def test_stream_resynchronises(side: str, make: Any, run: Any, vector: dict[str, Any]) -> None:
    stream = bytes.fromhex(vector["stream"])
    step = vector.get("split", len(stream) or 1)
    reader, frames, errors = make(), [], 0
    for at in range(0, len(stream), step):
        got, bad = run(stream[at : at + step], reader)
        frames += got
        errors += bad
    expected = [(f["seq"], f["type"], bytes.fromhex(f["payload"])) for f in vector["frames"]]
    assert (frames, errors) == (expected, vector["errors"])


def test_message_types_agree() -> None:
    for kind in host.MsgType:
        assert getattr(fw_link, kind.name) == kind.value
    for reason in host.NakReason:
        if reason != host.NakReason.UNKNOWN:
            assert getattr(fw_link, f"NAK_{reason.name}") == reason.value


@pytest.mark.parametrize(("side", "make", "run"), READERS, ids=[r[0] for r in READERS])
@settings(max_examples=200, deadline=None)
@given(noise=st.binary(max_size=400), seq=st.integers(0, 255), payload=st.binary(max_size=80))
def test_any_noise_then_a_frame(
    side: str, make: Any, run: Any, noise: bytes, seq: int, payload: bytes
) -> None:
    """Whatever came before, a delimiter and a good frame are read as that frame."""
    frames, _ = run(noise + b"\x00" + host.encode_frame(host.Frame(seq, 2, payload)), make())
    assert frames[-1] == (seq, 2, payload)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600))
def test_cobs_roundtrip_both_sides(data: bytes) -> None:
    encoded = host.cobs_encode(data)
    assert 0 not in encoded
    assert fw_cobs.encode(data) == encoded
    assert host.cobs_decode(encoded) == data == fw_cobs.decode(encoded)


def test_status_payload_parses() -> None:
    status = host.parse_status(bytes.fromhex("07000400000e10076f030c0002") + b"1.0.0")
    assert status == host.CellsStatus(
        hv_on=True,
        hv_ok=True,
        ready=True,
        faults=host.Fault.WDT_RESET,
        uptime_s=3600,
        hv_volts=190.3,
        reset_cause=host.ResetCause.WATCHDOG,
        cells=12,
        bad_frames=2,
        firmware="1.0.0",
    )
