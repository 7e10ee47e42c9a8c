"""Stateful fuzzing of the whole system: the real engine in a simulated hub, driven by hypothesis.

Rules are operator actions and faults; time passes only in ``advance``. Invariants are checked
after every rule, and each finished job is checked at the instant it finishes. A failure
shrinks to a minimal program of rules; ``ibs fuzz`` keeps hypothesis' example database so it
replays. Tests run a bounded campaign (tests/fuzz/); ``ibs fuzz --minutes N`` runs a long one.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ibs.engine import layout
from ibs.engine.units import HOUR
from ibs.scenarios.secret_scan import SecretScanner
from ibs.simulator import actions, gate
from ibs.simulator.hub import Hub, HubConfig, initial_share_password
from ibs.simulator.network import ERCS_VMS
from ibs.simulator.profiles import HubProfile
from ibs.simulator.recovery import recover
from ibs.simulator.scale import GB


class HubMachine(RuleBasedStateMachine):
    """One hub per program. Subclasses pick the fidelity."""

    fidelity = "sim"

    def __init__(self) -> None:
        super().__init__()
        self.hub: Hub | None = None
        self.passwords: list[str] = []
        self.tampered: set[str] = set()
        self.problems: list[str] = []
        self.cert_names = ["initial"]
        self.scanner = SecretScanner()

    # --- setting up -------------------------------------------------------------------------

    @initialize(nodes=st.sampled_from([4, 1, 16]), seed=st.integers(0, 2**16),
                frequency=st.sampled_from([12, 4, 6, 8]), retention=st.integers(2, 4),
                capacity_gb=st.sampled_from([10_000, 150, 60]))
    def start(self, nodes, seed, frequency, retention, capacity_gb):
        self.hub = Hub(HubConfig(HubProfile(nodes=nodes), seed=seed, fidelity=self.fidelity,
                                 frequency_hours=frequency, retention_days=retention,
                                 share_capacity_bytes=capacity_gb * GB))
        self.passwords.append(initial_share_password(seed))
        self.hub.after_job.append(self._job_finished)

    @property
    def live(self) -> Hub:
        """The hub a rule acts on; hypothesis runs ``start`` before any rule, so None is a bug."""
        if self.hub is None:
            raise RuntimeError(f"{type(self).__name__}: a rule ran before start() made the hub")
        return self.hub

    def teardown(self) -> None:
        if self.hub is not None:
            self.hub.close()

    # --- time ------------------------------------------------------------------------------

    @rule(hours=st.one_of(st.floats(0.05, 13), st.floats(13, 80)))
    def advance(self, hours):
        self.live.run_for(hours * HOUR)
        assert not self.problems, self.problems[0]

    # --- the operator ----------------------------------------------------------------------

    @rule()
    def on_demand(self):
        actions.request_backup(self.live)

    @rule(hours=st.sampled_from([4, 6, 8, 12]))
    def frequency(self, hours):
        actions.operator_configure(self.live, frequency_hours=hours)

    @rule(days=st.integers(2, 14))
    def retention(self, days):
        actions.operator_configure(self.live, retention_days=days)

    @rule(enabled=st.booleans())
    def scheduler(self, enabled):
        actions.operator_configure(self.live, scheduler=enabled)

    @rule()
    def rotate_certificate(self):
        name = f"cert{len(self.cert_names)}"
        actions.rotate_certificate(self.live, name)
        self.cert_names.append(name)

    @rule(right=st.booleans())
    def operator_credentials(self, right):
        password = self.live.server.users["svc-azsbackup"] if right else "typo-" + self.passwords[-1]
        self.passwords.append(password)
        actions.operator_configure(self.live, password=password)

    @precondition(lambda self: self.hub is not None and self.hub.job_running is None)
    @rule(use_right_pfx=st.booleans(), role=st.sampled_from([None, "CA", "KeyVault"]))
    def recover_newest(self, use_right_pfx, role):
        hub = self.live
        good = [r for r in hub.ctl.backups() if r.status == "Succeeded" and r.id not in self.tampered]
        if not good:
            return
        newest = good[-1]
        thumbprint = newest.encryptionCertThumbprint
        right = hub.cert_for(thumbprint)
        assert thumbprint is not None and right is not None, \
            f"{newest.id} was encrypted with a certificate this run never made"
        name = right if use_right_pfx or len(hub.certs) == 1 else next(n for n in hub.certs if n != right)
        _cer, pfx, password = hub.certs[name]
        if not self._share_reachable():
            return
        result = recover(hub, newest.id, pfx, password, role)
        if name == right:
            assert result.outcome == "passed", result.to_json()
        else:
            assert result.outcome == "refused" and thumbprint in result.message

    # --- faults ----------------------------------------------------------------------------

    @rule(action=st.sampled_from(["reject", "drop"]))
    def block_445(self, action):
        if not any(r.name == "block-445" for r in self.live.firewall.rules):
            actions.block_port_445(self.live, action)

    @precondition(lambda self: self.hub is not None and
                  any(r.name == "block-445" for r in self.hub.firewall.rules))
    @rule()
    def unblock_445(self):
        actions.remove_firewall_rule(self.live, "block-445")

    @rule(broken=st.booleans())
    def name_resolution(self, broken):
        (actions.break_name_resolution if broken else actions.fix_name_resolution)(self.live)

    @rule(vm=st.sampled_from(ERCS_VMS), up=st.booleans())
    def ercs(self, vm, up):
        if up:
            actions.restore_ercs(self.live, vm)
        elif sum(self.live.ercs_up.values()) > 1:  # one VM stays up, as the real stamp needs
            actions.fail_ercs(self.live, vm)

    @rule(free_gb=st.one_of(st.none(), st.floats(0, 40)))
    def share_space(self, free_gb):
        if free_gb is None:
            actions.free_share(self.live)
        else:
            actions.fill_share(self.live, free_gb)

    @rule()
    def server_password(self):
        password = f"rotated-{len(self.passwords)}"
        self.passwords.append(password)
        actions.server_set_password(self.live, password)

    @rule(mode=st.sampled_from(["off", "desired", "required"]))
    def server_encryption(self, mode):
        actions.server_encryption(self.live, mode)

    @rule(dialect=st.sampled_from(["2.1", "3.1.1", "3.0"]))
    def server_dialect(self, dialect):
        actions.server_max_dialect(self.live, dialect)

    @rule()
    def tamper(self):
        good = [r for r in self.live.ctl.backups() if r.status == "Succeeded"]
        if good:
            actions.tamper(self.live, good[-1].id)
            self.tampered.add(good[-1].id)

    @rule(kind=st.sampled_from(["share_full", "reject", "drop", "dns", "auth"]),
          days=st.floats(0.5, 6))
    def sustained_fault(self, kind, days):
        """A fault that lasts days, then is lifted: the shape that tests retention and alerts."""
        hub = self.live
        undo = {"share_full": lambda: actions.free_share(hub),
                "dns": lambda: actions.fix_name_resolution(hub)}
        if kind == "share_full":
            actions.fill_share(hub, 0)
        elif kind in ("reject", "drop"):
            actions.add_firewall_rule(hub, "sustained", kind, target=None)
            undo[kind] = lambda: actions.remove_firewall_rule(hub, "sustained")
        elif kind == "dns":
            actions.break_name_resolution(hub)
        else:
            before = hub.server.users["svc-azsbackup"]
            actions.server_set_password(hub, "sustained-" + before)
            undo["auth"] = lambda: actions.server_set_password(hub, before)
        self.advance(days * 24)
        undo[kind]()

    @rule()
    def crash(self):
        self.live.crash_controller()

    # --- invariants --------------------------------------------------------------------------

    def _job_finished(self, record) -> None:
        """At the instant a job finishes: its alert, and what retention left on the share."""
        hub = self.live
        active = {a.category for a in hub.ctl.alert_book().active()}
        if record.status == "Failed" and record.error["category"] not in active:
            self.problems.append(f"{record.id} failed with {record.error['category']} but the "
                                 f"active alerts are {sorted(active)}")
        if record.status == "Succeeded":
            if active:
                self.problems.append(f"{record.id} succeeded but alerts {sorted(active)} are active")
            settings = hub.ctl.settings
            cutoff = hub.clock.now().timestamp() - settings.retention_days * 86400
            on_share = self._complete_on_share()
            for r in hub.ctl.backups():
                if r.id in on_share and r.id != record.id and _epoch(r.createdDateTime) <= cutoff:
                    self.problems.append(f"{r.id} outlived retention ({settings.retention_days} days)")
            if record.id not in on_share:
                self.problems.append(f"the newest Succeeded backup {record.id} is not on the share")

    @invariant()
    def one_job_at_a_time(self):
        if self.hub is None:
            return
        running = [r for r in self.hub.ctl.history.all() if r.status in ("Queued", "Running")]
        assert len(running) <= 1, running

    @invariant()
    def nothing_looks_complete_unless_it_is(self):
        if self.hub is None:
            return
        good = {r.id for r in self.hub.ctl.backups() if r.status in ("Succeeded", "PartialSucceeded")}
        for name in self._complete_on_share():
            assert name in good, f"{name} on the share looks complete but is not a finished backup"

    @invariant()
    def newest_succeeded_never_deleted(self):
        """Each deleted backup had a newer good one, complete before the deletion."""
        if self.hub is None:
            return
        records = self.hub.ctl.backups()
        good = [r for r in records if r.isCloudRecoveryReady and r.completedDateTime]
        for d in records:
            if d.status != "Deleted":
                continue
            deleted_at = d.deletedDateTime
            assert deleted_at is not None, f"{d.id} is Deleted but has no deletedDateTime"
            successors = [n for n in good if n.createdDateTime > d.createdDateTime
                          and n.completedDateTime is not None and n.completedDateTime <= deleted_at]
            assert successors, f"{d.id} was deleted while it was the newest good backup"

    @invariant()
    def share_within_capacity(self):
        if self.hub is None:
            return
        assert self.hub.peak_bytes <= self.hub.config.share_capacity_bytes

    @invariant()
    def no_secret_anywhere(self):
        if self.hub is None:
            return
        from ibs.scenarios.expect import share_bytes
        from ibs.scenarios.secret_scan import scan_for_secrets

        hub = self.hub
        secrets = [p.encode() for p in self.passwords]
        for _cer, pfx, password in hub.certs.values():
            secrets += [pfx, password.encode()]
        log = json.dumps(hub.log.entries).encode()
        assert not any(s in log for s in secrets), "a secret reached the event log"
        assert not scan_for_secrets(hub.ctl.store.root, secrets), "a secret reached the store"
        assert not self.scanner.leaks(share_bytes(hub), secrets), "a secret reached the share"

    # --- helpers ---------------------------------------------------------------------------

    def _complete_on_share(self) -> set[str]:
        from ibs.scenarios.expect import share_names

        return {n for n in share_names(self.live) if layout.is_backup_name(n)}

    def _share_reachable(self) -> bool:
        """Would the controller get through to the share now? The hub's gate decides."""
        from ibs.engine.errors import ShareError
        from ibs.engine.share.unc import parse_unc

        hub = self.live
        settings = hub.ctl.settings
        if settings.path is None:
            return False  # no share configured: nothing to connect to
        try:
            gate.check(hub, "connect", parse_unc(settings.path), settings.username,
                       hub.stored_share_password())
        except ShareError:
            return False
        return True


class WireHubMachine(HubMachine):
    fidelity = "wire"


def _epoch(iso: str) -> float:
    from ibs.engine.manifest import parse_time

    return parse_time(iso).timestamp()
