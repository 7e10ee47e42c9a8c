"""At wire fidelity the world changes between two steps of a job while the engine still has a
WRITE in flight (engine/share/smb_io.py keeps two). The run must not depend on whether that WRITE
reached the server before the change: a slow moment of the machine (here a latency toxic on the
fault proxy) would otherwise leave different bytes on the share than a fast one, for one seed."""

from __future__ import annotations

from ibs.engine.units import HOUR
from ibs.fake_smb.proxy_toxics import Latency
from ibs.scenarios.determinism import compare, pinned_entropy, snapshot
from ibs.simulator import actions
from ibs.simulator.hub import Hub, HubConfig
from ibs.simulator.profiles import HubProfile


def _run(latency: float, fault: str):
    with pinned_entropy(0), Hub(HubConfig(HubProfile(nodes=4), seed=5, fidelity="wire",
                                          frequency_hours=12, retention_days=3)) as hub:
        if latency:
            hub.wire.proxy.set_toxics(Latency(seconds=latency))
        actions.request_backup(hub)
        hub.run_for(300)  # mid-transfer: the job is between two steps
        assert hub.job_running is not None
        actions.block_port_445(hub, fault)
        hub.run_for(2 * HOUR)
        actions.remove_firewall_rule(hub, "block-445")
        hub.run_for(HOUR)
        return snapshot(hub), list(hub.occupancy)


def test_a_firewall_rule_mid_job_leaves_the_same_share_on_a_slow_wire():
    fast, fast_occupancy = _run(0, "reject")
    slow, slow_occupancy = _run(0.3, "reject")
    assert compare(fast, slow) is None, compare(fast, slow)
    assert fast_occupancy == slow_occupancy
    assert any(".partial-" in p for p in fast[1]), "the job was not cut mid-transfer"


def test_a_cut_connection_reads_the_same_however_the_client_hears_of_it():
    """Which of these the engine meets depends on its threads' timing, not on the fault."""
    import errno

    from smbprotocol.exceptions import SMBException

    from ibs.engine.share.smb_errors import translate

    heard = [OSError(errno.EPIPE, "Broken pipe"), OSError(errno.ECONNRESET, "Connection reset by peer"),
             OSError(errno.EBADF, "Bad file descriptor"),
             SMBException("SMB socket was closed, cannot send or receive any more data")]
    messages = {str(translate(exc, "writing x", r"\\host\share")) for exc in heard}
    lost = r"\\host\share: connection lost (closed by the server or by a firewall) while writing x"
    assert messages == {lost}
