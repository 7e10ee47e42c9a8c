"""Can the controller use the share right now? The world's answer, worded as the SMB client's.

The sim fidelity's in-memory share asks before every operation; the wire fidelity's real
client meets the same conditions on the wire. Messages follow engine/share/smb_errors.py, so
a scenario reads the same at either fidelity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ibs.engine.controller import Controller
from ibs.engine.errors import AuthenticationError, ConnectivityError, PathFaultError
from ibs.engine.share.unc import UncPath
from ibs.simulator.config import DIALECTS, SHARE_HOST, ServerModel
from ibs.simulator.network import SMB_PORT, Firewall, PepDns


class World(Protocol):
    """What the answer depends on: the hub's network, its file server, the active ERCS VM and
    the controller's timeout (simulator/hub.py is the one implementation; naming only this
    keeps the gate from importing the hub that asks it)."""

    firewall: Firewall
    dns: PepDns
    server: ServerModel
    active_vm: str
    ctl: Controller

    @property
    def now(self) -> float: ...


def for_share(hub: World, unc: UncPath, user: str | None,
              password: str | None) -> Callable[[str], None]:
    """``check`` for one connection, as the in-memory share asks it before every operation.

    A closure with the common case inline: a partial with keywords built a dict and made a
    second call for each of a simulated year's 33,000 operations."""

    def ask(op: str) -> None:
        if op != "connect" and not hub.firewall.rules and hub.server.up:
            return
        check(hub, op, unc, user, password)

    return ask


def check(hub: World, op: str, unc: UncPath, user: str | None, password: str | None) -> None:
    """Raise what the SMB client would raise for ``op`` on ``unc`` at this virtual instant."""
    if op != "connect" and not hub.firewall.rules and hub.server.up:
        return  # asked before every read and write of a year's backups: nothing stands between
    host = unc.host
    if op == "connect" and not resolves(hub, host):
        raise ConnectivityError(f"host name {host} does not resolve from the privileged endpoint")
    verdict = port_verdict(hub)
    if verdict == "allow" and op != "connect":
        return  # the common case, asked before every read and write: no message to word
    where = str(unc)
    if verdict == "reject":
        raise ConnectivityError(f"{where}: cannot connect (Connection refused) while "
                                f"connecting to port {SMB_PORT}")
    if verdict == "drop":
        raise ConnectivityError(f"{where}: server did not answer within "
                                f"{hub.ctl.settings.smb_timeout} s while connecting to port "
                                f"{SMB_PORT}")
    if op == "connect":
        server = hub.server
        if DIALECTS.index(server.max_dialect) < DIALECTS.index("3.0"):
            raise ConnectivityError(f"{where}: server offered SMB {server.max_dialect}, "
                                    "but SMB 3.0 or later is required")
        if user is None or server.users.get(user) != password:
            raise AuthenticationError(f"{where}: logon failure (unknown user or wrong "
                                      "password) while logging on")
        if unc.share not in server.shares:
            raise PathFaultError(f"{where}: share {unc.share} does not exist on {host}")


def resolves(hub: World, host: str) -> bool:
    """Does ``host`` resolve from the privileged endpoint to the share's server?"""
    return host.lower() == SHARE_HOST and hub.dns.resolves(host)


def port_verdict(hub: World) -> str:
    """allow, drop or reject: what port 445 does for the active ERCS VM (a down server refuses)."""
    if not hub.server.up:
        return "reject"
    return hub.firewall.verdict(hub.active_vm, SHARE_HOST, SMB_PORT, hub.now)
