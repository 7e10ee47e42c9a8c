"""One wording at both fidelities: the same situation fails with the same message text.

At ``sim`` fidelity the hub's gate and the in-memory share word the failures; at ``wire`` the
real SMB client words them, reaching fake_smb through the fault proxy on a random local port.
An operator reads a scenario's report without knowing which fidelity ran it, so neither the
proxy's port nor the in-memory share's internal root may show, and no figure may differ.
"""

from __future__ import annotations

import threading

import pytest

from ibs.scenarios.loader import loads
from ibs.scenarios.runner import run_scenario

UNC = r"\\backupshare.contoso.local\backup\stamp1"

# An on-demand backup at 2h meets what the events before it did. A 4-node hub snapshots its
# roles for about 600 s, then moves about 20 GB in 200 s: 2h11m40s is mid-transfer.
SITUATIONS = {
    "share full mid-backup": ('at = "2h11m40s"\ndo = "fill_share"\nfree_gb = 1',
                              f"{UNC}: disk full while writing MASBackup/.partial-"),
    "share full before the backup": ('at = "1h"\ndo = "fill_share"\nfree_gb = 1',
                                     "the share has "),
    "port 445 rejected": ('at = "1h"\ndo = "block_port_445"\naction = "reject"',
                          (f"{UNC}: cannot connect (Connection refused) while connecting to "
                          "port 445")),
    "port 445 dropped": ('at = "1h"\ndo = "block_port_445"\naction = "drop"',
                         f"{UNC}: server did not answer within 2 s while connecting to port 445"),
    "logon failure": ('at = "1h"\ndo = "server_password"\npassword = "Rotated-Pa55w0rd"',
                      f"{UNC}: logon failure"),
    "share missing": (
        'at = "1h"\ndo = "operator_path"\npath = \'\\\\backupshare.contoso.local\\nosuch\\stamp1\'',
        (r"\\backupshare.contoso.local\nosuch\stamp1: share nosuch does not exist on "
        "backupshare.contoso.local")),
    "folder missing": (
        'at = "1h"\ndo = "operator_path"\npath = \'\\\\backupshare.contoso.local\\backup\\nosuch\'',
        r"\\backupshare.contoso.local\backup\nosuch: folder does not exist"),
    "dialect too old": ('at = "1h"\ndo = "server_max_dialect"\ndialect = "2.1"',
                        f"{UNC}: server offered SMB 2.1, but SMB 3.0 or later is required"),
    "name not resolving": ('at = "1h"\ndo = "dns_fail"',
                           "host name backupshare.contoso.local does not resolve"),
}


def scenario(event: str, fidelity: str):
    return loads(f"""
[scenario]
name = "one backup after one fault"
hub = 4
days = 0.1
seed = 7
fidelity = "{fidelity}"

[settings]
scheduler = false

[[events]]
{event}

[[events]]
at = "2h"
do = "backup"
""")


@pytest.fixture(autouse=True)
def no_threads_left():
    before = set(threading.enumerate())
    yield
    assert set(threading.enumerate()) <= before


@pytest.mark.parametrize("situation", SITUATIONS)
def test_sim_and_wire_word_a_failure_alike(situation: str) -> None:
    event, start = SITUATIONS[situation]
    failures = {}
    for fidelity in ("sim", "wire"):
        result = run_scenario(scenario(event, fidelity))
        assert result.error is None, result.error
        failures[fidelity] = [(b["status"], b["category"], b["message"]) for b in result.backups]
    [(status, _category, message)] = failures["sim"]
    assert status == "Failed"
    assert message.startswith(start), message
    assert failures["wire"] == failures["sim"]
