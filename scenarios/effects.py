"""Events that could not take effect: each that undoes or uses something needs an event before
it that did or made it, or it would change nothing (dns_restore with DNS working) or the hub
would refuse it (removing a firewall rule that is not there).

"Before" is the order the runner plays a timeline in: by time, then as written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ibs.scenarios.model import Event

Fact = tuple[Any, ...]

# What an event makes so.
MAKES: dict[str, Callable[[dict[str, Any]], Fact]] = {
    "firewall_rule_add": lambda p: ("rule", p["name"]),
    "block_port_445": lambda p: ("rule", "block-445"),
    "dns_fail": lambda p: ("dns failing",),
    "fill_share": lambda p: ("share filled",),
    "ercs_fail": lambda p: ("ercs down", p["vm"]),
    "operator_certificate": lambda p: ("certificate", p["name"]),
}
# What an event needs made so before it: the key to point at, the fact (None: nothing), and
# what is missing when it is not.
NEEDS: dict[str, tuple[str, Callable[[dict[str, Any]], Fact | None], str]] = {
    "firewall_rule_remove": ("name", lambda p: ("rule", p["name"]),
                             "no firewall_rule_add named {name!r}"),
    "unblock_port_445": ("do", lambda p: ("rule", "block-445"), "no block_port_445"),
    "dns_restore": ("do", lambda p: ("dns failing",), "no dns_fail"),
    "free_share": ("do", lambda p: ("share filled",), "no fill_share"),
    "ercs_restore": ("vm", lambda p: ("ercs down", p["vm"]), "no ercs_fail of {vm}"),
    "recover": ("pfx", lambda p: ("certificate", p["pfx"]) if p["pfx"] else None,
                "no operator_certificate named {pfx!r} (the first is 'initial')"),
}
_AT_START: set[Fact] = {("certificate", "initial")}


def first_ineffective(events: Sequence[Event]) -> tuple[int, str, str] | None:
    """The first event that lacks what it needs: its index in ``events``, the key to blame and
    why; None when every event can take effect."""
    done = set(_AT_START)
    for i in sorted(range(len(events)), key=lambda i: events[i].at_seconds):
        event = events[i]
        if event.action in NEEDS:
            key, fact, missing = NEEDS[event.action]
            needed = fact(event.params)
            if needed is not None and needed not in done:
                when = f"{event.at_seconds / 3600:g}h"
                return i, key, (f"{missing.format(**event.params)} comes before it (at {when}), "
                                "so it cannot take effect")
        if event.action in MAKES:
            done.add(MAKES[event.action](event.params))
    return None
