"""Command validation and dispatch against a real simulated node (real QueueEngine).

Good commands do what they say; bad ones (10,000 hypothesis-generated payloads) each get
an ``ok: false`` reply that follows the reply schema, and the node's state never moves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from brokers import BrokerPair, MqttProbe
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_mqtt_link import TOPICS, LiveNode, until_topic

from contract.schemas import Schemas
from edge.config import load_config
from edge.mqtt.commands import COMMAND_NAMES, CommandDispatcher, Reply
from edge.node import Node
from edge.queue.outbox import Outbox
from edge.simulation import Simulation

SCHEMAS = Schemas.load()
UUID = "0b8a3f6e-2c4d-4f1a-9e7b-5d6c8a9b0c1d"
# A valid payload of each command for the demo node (counter 1 serves A-001).
VALID: dict[str, dict[str, Any]] = {
    "call_next": {"counter": 1},
    "recall": {"counter": 1},
    "skip": {"counter": 1},
    "complete": {"counter": 1},
    "transfer": {"counter": 1, "service": "B"},
    "announce": {"text": "Selamat pagi"},
    "reprint": {"number": "A-001"},
    "selftest": {},
}
FIELD_OF: dict[str, str] = {"counter": "counter", "service": "service", "text": "text",
                            "number": "number"}


class NodeUnderTest:
    def __init__(self, tmp: Path) -> None:
        config = load_config(None)
        self.sim = Simulation(config, tmp)
        self.node = Node(config, tmp, self.sim.hardware()).start()
        self.outbox = Outbox(tmp / "queue.db")
        self.dispatcher = CommandDispatcher(actions=self.node, schemas=SCHEMAS)

    def fingerprint(self) -> tuple[Any, ...]:
        engine = self.node.ctx.engine
        return (engine.tickets(), self.outbox.last_seq(), self.node.queue_snapshot())

    def send(self, name: str, payload: Any) -> Reply:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.dispatcher.handle(name, raw)

    def close(self) -> None:
        self.outbox.close()
        self.node.stop()
        self.sim.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeUnderTest]:
    """A node with A-001 at counter 1, A-002 and A-003 waiting, counter 2 idle."""
    n = NodeUnderTest(tmp_path_factory.mktemp("node"))
    for _ in range(3):
        n.node.ctx.engine.issue("A")
    assert n.send("call_next", {"id": UUID, "counter": 1}).data == {
        "number": "A-001", "service": "A", "state": "called"}
    yield n
    n.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[NodeUnderTest]:
    n = NodeUnderTest(tmp_path)
    yield n
    n.close()


# --- good commands ------------------------------------------------------------------------

def test_good_commands_do_what_they_say(fresh: NodeUnderTest) -> None:
    engine = fresh.node.ctx.engine
    engine.issue("A")
    engine.issue("A")
    steps = [
        ("call_next", {"counter": 1}, {"number": "A-001", "service": "A", "state": "called"}),
        ("recall", {"counter": 1}, {"number": "A-001", "service": "A", "state": "called"}),
        ("transfer", {"counter": 1, "service": "B"},
         {"number": "A-001", "service": "B", "state": "waiting"}),
        ("call_next", {"counter": 1}, {"number": "A-002", "service": "A", "state": "called"}),
        ("skip", {"counter": 1}, {"number": "A-002", "service": "A", "state": "skipped"}),
        ("call_next", {"counter": 2}, {"number": "A-001", "service": "B", "state": "called"}),
        ("complete", {"counter": 2}, {"number": "A-001", "service": "B", "state": "completed"}),
        ("call_next", {"counter": 2}, {"number": None}),
    ]
    for name, args, data in steps:
        reply = fresh.send(name, {"id": UUID, **args})
        assert reply == Reply(UUID, True, data=data), name
        assert SCHEMAS.errors("reply", reply.to_dict()) == []
    types = [e["type"] for e in _events(fresh)]
    assert types == ["queue.reset", "ticket.issued", "ticket.issued", "ticket.called",
                     "ticket.recalled", "ticket.transferred", "ticket.called", "ticket.skipped",
                     "ticket.called", "ticket.completed"]


def test_reprint_announce_and_selftest(served: NodeUnderTest) -> None:
    reprint = served.send("reprint", {"id": UUID, "number": "A-002"})
    assert reprint.ok and reprint.data is not None and reprint.data["number"] == "A-002"
    assert served.send("announce", {"id": UUID, "text": "Uji coba pengumuman"}).ok
    served.node.selftests.button_timeout_s = 0.2  # nobody presses: buttons are skipped
    selftest = served.send("selftest", {"id": UUID})
    assert selftest == Reply(UUID, True, data={"started": True, "trigger": "command"})
    assert served.node.selftests.wait(120)  # its event must not land in later tests


def _events(n: NodeUnderTest) -> list[dict[str, Any]]:
    return [e.envelope("janti", "demo") for e in n.outbox.unacked(1000)]


# --- bad commands: a table of the errors a sender sees -------------------------------------

@pytest.mark.parametrize(
    ("name", "raw", "reply"),
    [
        ("call_next", b"{not json", Reply(None, False,
                                          "payload is not a JSON object (malformed JSON)")),
        ("call_next", b"[1, 2]", Reply(None, False,
                                       "payload is not a JSON object (malformed JSON)")),
        ("call_next", b'{"counter": 1}', Reply(None, False, "missing id")),
        ("fly", f'{{"id": "{UUID}"}}'.encode(), Reply(UUID, False, "unknown command 'fly'")),
        ("", f'{{"id": "{UUID}"}}'.encode(), Reply(UUID, False, "unknown command ''")),
        ("call_next", f'{{"id": "{UUID}", "counter": "1"}}'.encode(),
         Reply(UUID, False, "invalid call_next: counter: '1' is not of type 'integer'")),
        ("call_next", f'{{"id": "{UUID}", "counter": 1.0}}'.encode(),
         Reply(UUID, False, "invalid call_next: counter: 1.0 is not of type 'integer'")),
        ("call_next", f'{{"id": "{UUID}", "counter": 9}}'.encode(),
         Reply(UUID, False, "unknown counter 9")),
        ("recall", f'{{"id": "{UUID}", "counter": 2}}'.encode(),
         Reply(UUID, False, "counter 2 is not serving anyone")),
        ("transfer", f'{{"id": "{UUID}", "counter": 1, "service": "Z"}}'.encode(),
         Reply(UUID, False, "unknown service 'Z'")),
        ("reprint", f'{{"id": "{UUID}", "number": "B-001"}}'.encode(),
         Reply(UUID, False, "no ticket B-001 today")),
        ("selftest", f'{{"id": "{UUID}", "now": true}}'.encode(),
         Reply(UUID, False, "invalid selftest: (payload): Additional properties are not "
                            "allowed ('now' was unexpected)")),
        ("call_next", b'{"id": 7, "counter": 1}',
         Reply(None, False, "invalid call_next: id: 7 is not of type 'string'")),
        ("call_next", b"x" * 5000, Reply(None, False, "payload larger than 4096 bytes")),
    ],
)
def test_bad_command_errors(served: NodeUnderTest, name: str, raw: bytes, reply: Reply) -> None:
    before = served.fingerprint()
    assert served.send(name, raw) == reply
    assert served.fingerprint() == before


# --- bad commands: 10,000 generated --------------------------------------------------------

JSON_LEAF = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
             | st.text(max_size=12))
JSON = st.recursive(JSON_LEAF, lambda c: st.lists(c, max_size=3)
                    | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=5)
NOT_STRING = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.lists(
    JSON_LEAF, max_size=2) | st.dictionaries(st.text(max_size=4), JSON_LEAF, max_size=2)
NOT_UUID = NOT_STRING | st.text(max_size=40).filter(lambda v: len(v) != 36)
NOT_COUNTER = (NOT_STRING.filter(lambda v: not (type(v) is int and 1 <= v <= 99))
               | st.text(max_size=4) | st.sampled_from([0, -1, 100, 1.0, 2.5, True]))
NOT_SERVICE = NOT_STRING | st.text(max_size=4).filter(lambda v: not (len(v) == 1 and v.isupper()))
NOT_NUMBER = NOT_STRING | st.text(max_size=8).filter(
    lambda v: not (len(v) in (5, 6) and v[0].isupper() and v[1] == "-" and v[2:].isdigit()))
NOT_TEXT = NOT_STRING | st.sampled_from(["", "   ", "a\nb", "tab\there", "x" * 301, "\x00",
                                         "akhir\n", "\x7f"])
WRONG: dict[str, st.SearchStrategy[Any]] = {
    "counter": NOT_COUNTER, "service": NOT_SERVICE, "number": NOT_NUMBER, "text": NOT_TEXT,
}


@st.composite
def mutated_command(draw: st.DrawFn) -> tuple[str, Any]:
    """A valid command broken in one way (structurally or for this node's state)."""
    name = draw(st.sampled_from(sorted(COMMAND_NAMES)))
    payload: dict[str, Any] = {"id": UUID, **VALID[name]}
    fields = list(VALID[name])
    how = draw(st.sampled_from(["drop_id", "bad_id", "drop_arg", "wrong_arg", "extra",
                                "unknown_name", "semantic"]))
    if how == "drop_id":
        del payload["id"]
    elif how == "bad_id":
        payload["id"] = draw(NOT_UUID | st.text(alphabet="0123456789abcdef-", min_size=36,
                                                max_size=36).filter(lambda s: s.count("-") != 4))
    elif how == "drop_arg" and fields:
        del payload[draw(st.sampled_from(fields))]
    elif how == "wrong_arg" and fields:
        key = draw(st.sampled_from(fields))
        payload[key] = draw(WRONG[key])
    elif how == "unknown_name":
        name = draw(st.text(max_size=12).filter(lambda s: s not in COMMAND_NAMES))
    elif how == "semantic":
        return draw(semantic_error())
    else:
        extra = draw(st.text(max_size=8).filter(lambda k: k not in payload))
        payload[extra] = draw(JSON)
    return name, payload


@st.composite
def semantic_error(draw: st.DrawFn) -> tuple[str, Any]:
    """Valid by schema, refused by this node: unknown counter or service, idle counter,
    a ticket never issued."""
    idle_or_unknown = st.sampled_from([2]) | st.integers(3, 99)
    choice = draw(st.sampled_from(["call_next", "recall", "skip", "complete", "transfer",
                                   "transfer_service", "reprint"]))
    if choice == "call_next":
        return choice, {"id": UUID, "counter": draw(st.integers(3, 99))}
    if choice == "transfer":
        return choice, {"id": UUID, "counter": draw(idle_or_unknown), "service": "B"}
    if choice == "transfer_service":
        service = draw(st.sampled_from("EFGHIJKLMNOPQRSTUVWXYZ"))
        return "transfer", {"id": UUID, "counter": 1, "service": service}
    if choice == "reprint":
        letter = draw(st.sampled_from("ABCDZ"))
        serial = draw(st.integers(4 if letter == "A" else 0, 9999))
        width = draw(st.sampled_from([3, 4])) if serial < 1000 else 4
        return choice, {"id": UUID, "number": f"{letter}-{serial:0{width}d}"}
    return choice, {"id": UUID, "counter": draw(idle_or_unknown)}


def _assert_refused(served: NodeUnderTest, before: tuple[Any, ...], name: str, raw: Any) -> None:
    reply = served.send(name, raw)
    assert not reply.ok, (name, raw, reply)
    assert reply.error
    assert SCHEMAS.errors("reply", reply.to_dict()) == []
    assert served.fingerprint() == before


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


@_settings(5000)
@given(case=mutated_command())
def test_5000_mutated_commands_are_refused(served: NodeUnderTest, case: tuple[str, Any]) -> None:
    _assert_refused(served, _baseline(served), *case)


@_settings(3000)
@given(name=st.sampled_from(sorted(COMMAND_NAMES)) | st.text(max_size=10), payload=JSON)
def test_3000_arbitrary_json_payloads_are_refused(
    served: NodeUnderTest, name: str, payload: Any
) -> None:
    _assert_refused(served, _baseline(served), name, payload)


@_settings(2000)
@given(name=st.sampled_from(sorted(COMMAND_NAMES)), raw=st.binary(max_size=300))
def test_2000_arbitrary_bytes_are_refused(served: NodeUnderTest, name: str, raw: bytes) -> None:
    _assert_refused(served, _baseline(served), name, raw)


_BASELINES: dict[int, tuple[Any, ...]] = {}


def _baseline(served: NodeUnderTest) -> tuple[Any, ...]:
    """The state of the module's node before the first generated command."""
    return _BASELINES.setdefault(id(served), served.fingerprint())


# --- a smaller generated set over a real broker -------------------------------------------

def test_generated_bad_commands_over_the_site_broker(
    broker_pair: BrokerPair, tmp_path: Path
) -> None:
    """Staff's bad commands travel through Mosquitto to the real MqttLink: each gets one
    ok:false reply (schema-valid), and the node's state does not move."""
    with LiveNode(tmp_path, broker_pair.site_lan, broker_pair.node()) as live, \
            MqttProbe(broker_pair.site_lan, broker_pair.staff()) as staff:
        engine = live.node.ctx.engine
        for _ in range(3):
            engine.issue("A")
        live.node.call_next(1)
        staff.subscribe(TOPICS.reply)
        staff.subscribe(TOPICS.status)
        staff.collect(until_topic(TOPICS.status, lambda p: p["online"]))  # listening now
        box = Outbox(tmp_path / "queue.db")

        def fingerprint() -> tuple[Any, ...]:
            return engine.tickets(), box.last_seq(), live.node.queue_snapshot()

        before = fingerprint()

        @_settings(200)
        @given(case=mutated_command())
        def one(case: tuple[str, Any]) -> None:
            name, payload = case
            # Topic names Mosquitto itself refuses (control characters, wildcards) never
            # reach a node; the in-process tests above cover those names.
            assume(name.isascii() and name.isprintable() and not set(name) & set("/+# "))
            staff.publish(TOPICS.cmd(name), json.dumps(payload))
            reply = json.loads(staff.expect(TOPICS.reply).payload)
            assert reply["ok"] is False and reply["error"], (name, payload, reply)
            assert SCHEMAS.errors("reply", reply) == []
            assert fingerprint() == before

        one()
        box.close()
