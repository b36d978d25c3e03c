"""Starting the pharmacy form beside a running node (``brexit node`` calls this).

Under ``--simulate`` the form has a demo login, so it listens on loopback only, whatever
``[pharmacy] listen`` or ``--form`` say (the port is kept); a real node listens where it
is configured (the puskesmas LAN).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

from edge.pharmacy.web import PharmacyWeb
from ncc.auth import Auth, Role

if TYPE_CHECKING:
    from edge.node import Node

DEMO_USER = "apoteker"
DEMO_PASSWORD = "apoteker-janti"  # --simulate only, and only while no pharmacist exists
LOOPBACK = "127.0.0.1"


def users_db(data_dir: Path) -> Path:
    return data_dir / "pharmacists.db"


def is_loopback(host: str) -> bool:
    """Is ``host`` reachable from this machine only?

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: only "localhost" is known to be loopback
        return False


def form_listen(listen: tuple[str, int], *, simulate: bool) -> tuple[str, int]:
    """Where the form listens: simulated, on loopback only (same port); else ``listen``.

    >>> lan = ("0.0.0.0", 8080)
    >>> form_listen(lan, simulate=True), form_listen(lan, simulate=False)
    (('127.0.0.1', 8080), ('0.0.0.0', 8080))
    """
    host, port = listen
    if simulate and not is_loopback(host):
        return LOOPBACK, port
    return listen


def serve_form(node: Node, data_dir: Path, listen: tuple[str, int], *, simulate: bool
               ) -> tuple[PharmacyWeb, str]:
    """The running form and a line telling where it is (and the demo login, simulated).

    Raises OSError when it cannot listen on ``form_listen(listen, simulate=simulate)``.
    """
    assert node.pharmacy is not None
    auth = Auth(users_db(data_dir))
    note = " (loopback only: --simulate)" if simulate else ""
    if simulate and not auth.users():
        auth.add_user(DEMO_USER, Role.OPERATOR, DEMO_PASSWORD)
        note += f" (login {DEMO_USER} / {DEMO_PASSWORD})"
    web = PharmacyWeb(node.pharmacy, node.aid, auth,
                      listen=form_listen(listen, simulate=simulate)).start()
    return web, f"pharmacy form {web.url}{note}"
