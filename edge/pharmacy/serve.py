"""Starting the pharmacy form beside a running node (``brexit node`` calls this)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from edge.pharmacy.web import PharmacyWeb
from ncc.auth import Auth, Role

if TYPE_CHECKING:
    from edge.node import Node

DEMO_USER = "apoteker"
DEMO_PASSWORD = "apoteker-janti"  # --simulate only, and only while no pharmacist exists


def users_db(data_dir: Path) -> Path:
    return data_dir / "pharmacists.db"


def serve_form(node: Node, data_dir: Path, listen: tuple[str, int], *, simulate: bool
               ) -> tuple[PharmacyWeb, str]:
    """The running form and a line telling where it is (and the demo login, simulated)."""
    assert node.pharmacy is not None
    auth = Auth(users_db(data_dir))
    note = ""
    if simulate and not auth.users():
        auth.add_user(DEMO_USER, Role.OPERATOR, DEMO_PASSWORD)
        note = f" (login {DEMO_USER} / {DEMO_PASSWORD})"
    web = PharmacyWeb(node.pharmacy, node.aid, auth, listen=listen).start()
    return web, f"pharmacy form {web.url}{note}"
