"""A command id runs once, retained commands never run, odd text never breaks a reply.

QoS 1 may deliver a command twice (and a sender may retry): a second ``call_next`` with
the same ``id`` used to call a second patient, skipping one. A retained ``cmd/call_next``
ran again on every reconnect. A lone surrogate (``"\\ud800"``) in the id made the reply
impossible to encode. ``announce`` spoke any 300 characters, bidi overrides and emoji
included.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from brokers import BrokerPair, MqttProbe
from test_mqtt_commands import UUID, NodeUnderTest
from test_mqtt_link import TOPICS, LiveNode, payloads_on, until_topic

from contract.payloads import encode
from contract.schemas import Schemas
from edge.braille.codec import unwritable
from edge.mqtt.command_log import CommandLog
from edge.mqtt.commands import CommandDispatcher, Reply
from edge.speech.backends import Utterance, WavBackend

SCHEMAS = Schemas.load()
OTHER = "7e57c0de-1111-4222-8333-444455556666"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeUnderTest]:
    n = NodeUnderTest(tmp_path)
    for _ in range(3):
        n.node.ctx.engine.issue("A")
    yield n
    n.close()


def logged(n: NodeUnderTest) -> CommandDispatcher:
    return CommandDispatcher(actions=n.node, schemas=SCHEMAS,
                             log=CommandLog(n.node.ctx.engine.db_path))


def call_next(d: CommandDispatcher, command_id: str = UUID, **kw: Any) -> Reply:
    return d.handle("call_next", json.dumps({"id": command_id, "counter": 1}).encode(), **kw)


def called(n: NodeUnderTest) -> list[str]:
    return [t.number for t in n.node.ctx.engine.tickets() if t.calls]


def test_a_repeated_id_runs_once_and_gets_the_first_reply(node: NodeUnderTest) -> None:
    d = logged(node)
    first = call_next(d)
    assert first.ok and first.data is not None and first.data["number"] == "A-001"
    assert call_next(d) == first
    assert called(node) == ["A-001"]
    assert call_next(d, OTHER).data == {"number": "A-002", "service": "A", "state": "called"}


def test_the_ids_survive_a_restart(node: NodeUnderTest) -> None:
    first = call_next(logged(node))
    after_restart = logged(node)  # a new log on the same database
    assert call_next(after_restart) == first
    assert called(node) == ["A-001"]


def test_a_command_interrupted_by_a_crash_is_not_run_again(node: NodeUnderTest) -> None:
    CommandLog(node.node.ctx.engine.db_path).begin(UUID, "call_next")  # started, no reply
    reply = call_next(logged(node))
    assert not reply.ok and reply.error is not None and "interrupted" in reply.error
    assert called(node) == []


def test_a_retained_command_is_refused_without_running(node: NodeUnderTest) -> None:
    reply = call_next(logged(node), retained=True)
    assert not reply.ok and reply.error is not None and "retained" in reply.error
    assert called(node) == []
    assert SCHEMAS.errors("reply", reply.to_dict()) == []


LONE = "\ud800"


@pytest.mark.parametrize(("name", "raw"), [
    ("call_next", json.dumps({"id": LONE, "counter": 1})),
    ("call_next", json.dumps({"id": "a" + LONE * 3})),
    ("announce", json.dumps({"id": UUID, "text": "Halo " + LONE})),
    ("announce", json.dumps({"id": LONE, "text": LONE})),
    ("reprint", json.dumps({"id": UUID, "number": LONE})),
    ("transfer", json.dumps({"id": UUID, "counter": 1, "service": LONE})),
    ("call_next", json.dumps({"id": UUID, LONE: 1, "counter": 1})),
])
def test_lone_surrogates_get_an_encodable_schema_valid_refusal(
    node: NodeUnderTest, name: str, raw: str
) -> None:
    before = node.fingerprint()
    reply = logged(node).handle(name, raw.encode())
    assert not reply.ok
    assert SCHEMAS.errors("reply", reply.to_dict()) == []
    assert json.loads(encode(reply.to_dict()))["ok"] is False  # it can be published
    assert node.fingerprint() == before


# --- announce: only what speech and Indonesian Braille can render -------------------------

@pytest.mark.parametrize(("text", "char"), [
    ("Perhatian \u202eloket 2", "\\u202e"),   # right-to-left override
    ("Antrean \u2066A\u2069", "\\u2066"),     # bidi isolate
    ("Selamat pagi 😀", "😀"),
    ("Loket\u200b2", "\\u200b"),              # zero-width space
    ("Loket\t2", "\\t"),
    ("Harga Rp5.000 €", "€"),
    ("Loket 2 ﹠ 3", "﹠"),
])
def test_announce_refuses_text_it_cannot_say_and_write(
    node: NodeUnderTest, text: str, char: str
) -> None:
    reply = node.send("announce", {"id": UUID, "text": text})
    assert not reply.ok and reply.error is not None
    assert reply.error.startswith("invalid announce: text: character ")
    assert char in reply.error and "U+" in reply.error, reply.error


@pytest.mark.parametrize("text", ["Loket 2 tutup pukul 12.00.", "Silakan (A-012) ke loket 3!",
                                  "Apakah ada pasien KIA? Ya/tidak: 'tunggu'",
                                  "Diskon 50% untuk Ibu & Anak", "Café buka"])
def test_announce_accepts_ordinary_indonesian(node: NodeUnderTest, text: str) -> None:
    assert node.send("announce", {"id": UUID, "text": text}).ok


def test_announce_says_signs_as_words(node: NodeUnderTest, tmp_path: Path) -> None:
    """"50%" is said as "50 persen" and "&" as "dan", as Braille writes them: the audio of
    the announcement is the audio of the written-out text."""
    assert node.send("announce", {"id": UUID, "text": "Ibu & Anak 50%"}).ok
    assert node.node.ctx.speech.wait_idle(30)
    spoken = [f for f in node.sim.speech.files if "announce" in f.name][-1]  # type: ignore[attr-defined]
    speaker = node.node.config.speaker
    expected = WavBackend(tmp_path / "expected", voice=speaker.voice, rate=speaker.rate)
    expected.open()
    try:
        expected.speak(Utterance("Ibu dan Anak 50 persen", "announce", True, speaker.volume),
                       threading.Event())
    finally:
        expected.close()
    assert spoken.read_bytes() == expected.files[0].read_bytes()


ASTRAL = [0x1F600, 0x1F3FB, 0x1D400, 0xE0041, 0x10FFFD]


def test_the_announce_schema_allows_exactly_what_braille_can_write() -> None:
    """The schema's character class is generated from the codec; checked on the whole BMP
    (surrogates aside) and some astral characters."""
    codes = [*range(0xD800), *range(0xE000, 0x10000), *ASTRAL]
    for code in codes:
        text = "Halo " + chr(code)
        writable = unwritable(text) is None and bool(text.strip())
        valid = SCHEMAS.errors("cmd/announce", {"id": UUID, "text": text}) == []
        assert valid == writable, hex(code)


# --- over the site broker -------------------------------------------------------------------

def test_a_duplicate_over_the_broker_runs_once(broker_pair: BrokerPair, tmp_path: Path) -> None:
    with LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node()) as live, \
            MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        live.issue(3)
        staff.subscribe(TOPICS.reply)
        staff.subscribe(TOPICS.status)
        staff.collect(until_topic(TOPICS.status, lambda p: p["online"]))
        command = json.dumps({"id": UUID, "counter": 1})
        staff.publish(TOPICS.cmd("call_next"), command)
        staff.publish(TOPICS.cmd("call_next"), command)  # what a QoS 1 redelivery does
        got = staff.collect(lambda g: len(payloads_on(g, TOPICS.reply)) >= 2)
        replies = payloads_on(got, TOPICS.reply)
        assert replies[0] == replies[1] and replies[0]["data"]["number"] == "A-001"
        assert [t.number for t in live.node.ctx.engine.tickets() if t.calls] == ["A-001"]


def test_a_retained_command_is_not_run_on_connect_and_a_node_cannot_clear_it(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    """The node's login may only read its cmd topics (mqtt_config ACL): an empty retained
    publish from it is dropped by the broker, so only the sender (staff, NCC) can clear it."""
    with MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        staff.publish(TOPICS.cmd("call_next"), json.dumps({"id": UUID, "counter": 1}),
                      retain=True)
        staff.subscribe(TOPICS.reply)
        for _ in range(2):  # two connections, never run
            with LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node()) as live:
                live.issue(1)
                reply = json.loads(staff.expect(TOPICS.reply).payload)
                assert reply["id"] == UUID and not reply["ok"] and "retained" in reply["error"]
                assert [t for t in live.node.ctx.engine.tickets() if t.calls] == []
        with MqttProbe(broker_pair.site_lan, broker_pair.node()) as node_login:
            node_login.publish(TOPICS.cmd("call_next"), b"", retain=True)
        with MqttProbe(broker_pair.site_lan, broker_pair.node()) as later:
            later.subscribe(TOPICS.cmd("call_next"))
            still = later.expect(TOPICS.cmd("call_next"))
        assert still.retain and json.loads(still.payload)["id"] == UUID
