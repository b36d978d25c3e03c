"""The MQTT ``label`` command against real Mosquitto brokers made by ``brexit broker`` and a
real pharmacy node on its link: staff of the site and the NCC may send it; a node login
(another node's, or the pharmacy node's own) and another site's staff may not; the NCC
sees only ``label.printed`` with counts.

"Not delivered" is proven as in test_broker_acl.py: after the forbidden publishes are
acknowledged, an allowed marker command follows the same path; the node answers commands
in order, so once the marker's reply is back a forbidden command would have been answered.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from brokers import BrokerPair, MqttProbe, Received, provisioned_pair, wait_until

from contract.schemas import Schemas
from edge import __version__
from edge.config import parse_config
from edge.mqtt.link import LinkOptions, MqttLink
from edge.node import Node
from edge.simulation import Simulation

EXAMPLE = Path(__file__).parent.parent / "deploy" / "examples" / "janti-farmasi-1.toml"
SCHEMAS = Schemas.load()
CMD = "brexit/v1/janti/farmasi-1/cmd/label"
REPLY = "brexit/v1/janti/farmasi-1/reply"
LABEL = {"patient": "Budi Santoso", "drug": "Amoksisilin", "strength": "500 mg",
         "dose": "3 x sehari 1 kapsul", "warnings": ["habiskan"]}


def command(n: int) -> bytes:
    return json.dumps({"id": f"00000000-0000-4000-8000-{n:012d}", **LABEL}).encode()


def reply_ids(got: list[Received]) -> list[str]:
    return [json.loads(m.payload)["id"] for m in got if m.topic == REPLY]


class LinkedPharmacy:
    def __init__(self, pair: BrokerPair, tmp: Path) -> None:
        raw: dict[str, Any] = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
        login = pair.node("farmasi-1")
        raw["mqtt"] = {"host": pair.site_lan.host, "port": pair.site_lan.port,
                       "username": login.username, "password": login.password}
        config = parse_config(raw, source="farmasi-1.toml")
        assert config.mqtt is not None
        self.sim = Simulation(config, tmp)
        self.node = Node(config, tmp, self.sim.hardware()).start()
        self.link = MqttLink(config.mqtt, site="janti", node="farmasi-1", roles=["pharmacy"],
                             version=__version__, outbox_path=self.node.ctx.engine.db_path,
                             actions=self.node, options=LinkOptions())
        self.link.start()
        self.node.ctx.notifier = self.link

    def labels(self) -> int:
        assert self.node.pharmacy is not None
        return self.node.pharmacy.store.count()

    def close(self) -> None:
        self.link.close()
        self.node.stop()
        self.sim.close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerPair]:
    pair = provisioned_pair(tmp_path_factory.mktemp("acl"), nodes=("kiosk-1", "farmasi-1"))
    try:
        yield pair
    finally:
        pair.close()


@pytest.fixture(scope="module")
def farmasi(pair: BrokerPair, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[LinkedPharmacy]:
    node = LinkedPharmacy(pair, tmp_path_factory.mktemp("farmasi"))
    try:
        with MqttProbe(pair.site_lan, pair.staff()) as staff:
            topic = "brexit/v1/janti/farmasi-1/status"
            staff.subscribe(topic)
            wait_until(lambda: json.loads(staff.expect(topic).payload)["online"],
                       "the pharmacy node online")
        yield node
    finally:
        node.close()


def test_staff_label_command_is_made_and_the_ncc_sees_counts_only(
        pair: BrokerPair, farmasi: LinkedPharmacy) -> None:
    with MqttProbe(pair.site_lan, pair.staff()) as staff, \
            MqttProbe(pair.central, pair.ncc) as ncc:
        staff.subscribe(REPLY)
        ncc.subscribe("brexit/v1/janti/farmasi-1/#")
        before = farmasi.labels()
        staff.publish(CMD, command(1))
        got = staff.collect(lambda g: "00000000-0000-4000-8000-000000000001" in reply_ids(g))
        reply = json.loads(got[-1].payload)
        assert reply["ok"] and set(reply["data"]) == {"number", "braille_lines", "omitted",
                                                        "outputs"}
        assert farmasi.labels() == before + 1
        events = ncc.collect(lambda g: any(m.topic.endswith("/event") and json.loads(
            m.payload)["type"] == "label.printed" for m in g))
        seen = b"".join(m.payload for m in events)
        assert b"Budi" not in seen and b"Amoksisilin" not in seen
        event = json.loads(next(m.payload for m in events if m.topic.endswith("/event")
                                and b"label.printed" in m.payload))
        assert SCHEMAS.errors("event", event) == []
        assert event["data"]["classes"]["antibiotic"] == 1


def test_node_logins_cannot_send_the_label_command(
        pair: BrokerPair, farmasi: LinkedPharmacy) -> None:
    with MqttProbe(pair.site_lan, pair.staff()) as staff, \
            MqttProbe(pair.site_lan, pair.node("kiosk-1")) as kiosk, \
            MqttProbe(pair.site_lan, pair.node("farmasi-1")) as itself:
        staff.subscribe(REPLY)
        before = farmasi.labels()
        kiosk.publish(CMD, command(11))
        itself.publish(CMD, command(12))  # a node reads its commands, never writes them
        staff.publish(CMD, command(13))  # the marker
        got = staff.collect(lambda g: "00000000-0000-4000-8000-000000000013" in reply_ids(g))
        assert reply_ids(got) == ["00000000-0000-4000-8000-000000000013"]
        assert farmasi.labels() == before + 1


def test_another_sites_staff_cannot_send_the_label_command(
        pair: BrokerPair, farmasi: LinkedPharmacy) -> None:
    with MqttProbe(pair.site_lan, pair.staff()) as staff, \
            MqttProbe(pair.central, pair.staff(pair.other_site)) as arjuno, \
            MqttProbe(pair.central, pair.ncc) as ncc:
        staff.subscribe(REPLY)
        before = farmasi.labels()
        arjuno.publish(CMD, command(21))
        ncc.publish(CMD, command(22))  # the NCC may: the marker, down the same bridge
        got = staff.collect(lambda g: "00000000-0000-4000-8000-000000000022" in reply_ids(g))
        assert reply_ids(got) == ["00000000-0000-4000-8000-000000000022"]
        assert farmasi.labels() == before + 1
