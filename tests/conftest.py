"""Shared pytest fixtures. Broker fixtures come from tests/brokers.py (see docs/brokers.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import BrokerPair, NatsCluster, provisioned_pair
from browser import chromium
from playwright.sync_api import Browser

NATS_USERS = {"ncc": "ncc-secret", "node.janti.kiosk-1": "kiosk-secret"}


@pytest.fixture
def broker_pair(tmp_path: Path) -> Iterator[BrokerPair]:
    """Site broker "janti" (nodes kiosk-1, caller-1) bridged over TLS to a central broker;
    logins also for site "arjuno" (node kiosk-1). Made by `brexit broker`."""
    pair = provisioned_pair(tmp_path)
    try:
        yield pair
    finally:
        pair.close()


@pytest.fixture(scope="module")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """A 3-server NATS JetStream cluster, MQTT gateway on each; users from NATS_USERS."""
    with NatsCluster(tmp_path_factory.mktemp("nats"), users=NATS_USERS) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for a module's page tests (tests/browser.py)."""
    with chromium() as b:
        yield b
