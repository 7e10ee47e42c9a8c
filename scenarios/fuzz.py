"""Stateful fuzzing of the whole system: the real engine in a simulated hub, driven by hypothesis.

Rules are operator actions and faults; time passes only in ``advance`` (and in the rules that
wait for a moment: a job in flight, a scheduled slot, liveness). Each program enables a random
subset of the rules (swarm testing, scenarios/fuzz_swarm.py). Invariants are checked after every
rule, each finished job at the instant it finishes, and liveness on demand: once every fault is
healed, a backup succeeds within two periods. Rare states are counted as they are reached
(scenarios/fuzz_reach.py). A failure shrinks to a minimal program of rules; ``ibs fuzz`` keeps
hypothesis' example database so it replays. Tests run a bounded campaign (tests/fuzz/);
``ibs fuzz --minutes N`` runs a long one.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
)

from ibs.engine.units import HOUR
from ibs.scenarios.fuzz_invariants import GOOD, HubInvariants, parse_iso
from ibs.scenarios.fuzz_reach import REACH
from ibs.scenarios.fuzz_secrets import SecretWatch
from ibs.scenarios.fuzz_swarm import enabled, swarms
from ibs.simulator import actions
from ibs.simulator.clock import now_ticks, seconds
from ibs.simulator.crashpoints import PHASES
from ibs.simulator.hub import Hub, HubConfig, initial_share_password
from ibs.simulator.network import ERCS_VMS
from ibs.simulator.profiles import HubProfile
from ibs.simulator.recovery import recover
from ibs.simulator.scale import GB


class HubMachine(HubInvariants, RuleBasedStateMachine):
    """One hub per program. Subclasses pick the fidelity."""

    fidelity = "sim"

    def __init__(self) -> None:
        super().__init__()
        self.hub: Hub | None = None
        self.passwords: list[str] = []
        self.tampered: set[str] = set()
        self.problems: list[str] = []
        self.cert_names = ["initial"]
        self.secrets = SecretWatch()
        self.swarm: frozenset[str] = frozenset()
        self.reach = REACH
        self._crashes_seen = 0

    # --- setting up -------------------------------------------------------------------------

    @initialize(nodes=st.sampled_from([4, 1, 16]), seed=st.integers(0, 2**16),
                frequency=st.sampled_from([12, 4, 6, 8]), retention=st.integers(2, 4),
                capacity_gb=st.sampled_from([10_000, 150, 60]), swarm=swarms())
    def start(self, nodes, seed, frequency, retention, capacity_gb, swarm):
        self.swarm = swarm
        self.hub = Hub(HubConfig(HubProfile(nodes=nodes), seed=seed, fidelity=self.fidelity,
                                 frequency_hours=frequency, retention_days=retention,
                                 share_capacity_bytes=capacity_gb * GB))
        self.passwords.append(initial_share_password(seed))
        self.hub.after_job.append(self._job_finished)

    def teardown(self) -> None:
        if self.hub is not None:
            self.hub.close()

    # --- time ------------------------------------------------------------------------------

    @rule(hours=st.one_of(st.floats(0.05, 13), st.floats(13, 36)))
    def advance(self, hours):
        self._run(hours * HOUR)

    def _run(self, seconds: float) -> None:
        """Let virtual time pass; what happened meanwhile is checked and counted."""
        hub = self.live
        hub.run_for(seconds)
        fired = hub.crash_points.fired
        for phase in fired[self._crashes_seen:]:
            self.reach.sometimes(f"crash in phase: {phase}")
        self._crashes_seen = len(fired)
        assert not self.problems, self.problems[0]

    @enabled("job_in_flight")
    @rule(fraction=st.floats(0, 0.9))
    def job_in_flight(self, fraction):
        """Run until a job is that far along, so the next rule meets a running job."""
        self._job_in_flight(fraction)

    def _job_in_flight(self, fraction: float) -> None:
        hub = self.live
        if hub.running_job is None:
            actions.request_backup(hub)
        for _ in range(400):  # a few virtual hours at most
            job = hub.running_job
            progress = job.progress if job is not None else None
            if job is not None and (progress is None and fraction == 0 or progress is not None
                                    and progress.done_bytes >= fraction * progress.total_bytes):
                break
            self._run(30)

    def _until_idle(self) -> None:
        """Run until no job is running (a few virtual hours at most)."""
        for _ in range(100):
            if self.live.running_job is None:
                return
            self._run(300)

    def _during_job(self, row: str) -> None:
        self.reach.sometimes(row, self.live.running_job is not None)

    # --- the operator ----------------------------------------------------------------------

    @enabled("on_demand")
    @rule()
    def on_demand(self):
        actions.request_backup(self.live)

    @enabled("frequency")
    @rule(hours=st.sampled_from([4, 6, 8, 12]))
    def frequency(self, hours):
        actions.operator_configure(self.live, frequency_hours=hours)

    @enabled("retention")
    @rule(days=st.integers(2, 14), mid_job=st.booleans())
    def retention(self, days, mid_job):
        if mid_job:
            self._job_in_flight(0.3)
        if days < self.live.ctl.settings.retention_days:
            self._during_job("retention lowered while a job runs")
        actions.operator_configure(self.live, retention_days=days)

    @enabled("scheduler")
    @rule(on=st.booleans())
    def scheduler(self, on):
        actions.operator_configure(self.live, scheduler=on)

    @enabled("rotate_certificate")
    @rule(mid_job=st.booleans())
    def rotate_certificate(self, mid_job):
        if mid_job:
            self._job_in_flight(0.3)
        self._during_job("certificate rotated while a job runs")
        name = f"cert{len(self.cert_names)}"
        actions.rotate_certificate(self.live, name)
        self.cert_names.append(name)

    @enabled("operator_credentials")
    @rule(right=st.booleans(), mid_job=st.booleans())
    def operator_credentials(self, right, mid_job):
        if mid_job:
            self._job_in_flight(0.3)
        self._during_job("credentials changed while a job runs")
        password = self.live.server.users["svc-azsbackup"] if right else "typo-" + self.passwords[-1]
        self.passwords.append(password)
        actions.operator_configure(self.live, password=password)

    @enabled("recover")
    @rule(oldest=st.booleans(), use_right_pfx=st.booleans(),
          role=st.sampled_from([None, "CA", "KeyVault"]))
    def recover(self, oldest, use_right_pfx, role):
        self._until_idle()
        hub = self.live
        if hub.running_job is not None:
            return
        on_share = self._complete_on_share()
        good = [r for r in hub.ctl.backups() if r.status == "Succeeded" and r.id not in self.tampered
                and r.id in on_share]
        if not good:
            return
        chosen = good[0] if oldest else good[-1]
        thumbprint = chosen.encryptionCertThumbprint
        right = hub.cert_for(thumbprint)
        assert thumbprint is not None and right is not None, \
            f"{chosen.id} was encrypted with a certificate this run never made"
        name = right if use_right_pfx or len(hub.certs) == 1 else next(n for n in hub.certs if n != right)
        _cer, pfx, password = hub.certs[name]
        if not self._share_reachable():
            return
        result = recover(hub, chosen.id, pfx, password, role)
        if name == right:
            assert result.outcome == "passed", result.to_json()
            self.reach.sometimes("oldest kept backup recovered", oldest and len(good) > 1)
        else:
            assert result.outcome == "refused" and thumbprint in result.message

    # --- faults ----------------------------------------------------------------------------

    @enabled("block_445")
    @rule(action=st.sampled_from(["reject", "drop"]))
    def block_445(self, action):
        if not any(r.name == "block-445" for r in self.live.firewall.rules):
            actions.block_port_445(self.live, action)

    @enabled("block_445")
    @precondition(lambda self: self.hub is not None and
                  any(r.name == "block-445" for r in self.hub.firewall.rules))
    @rule()
    def unblock_445(self):
        actions.remove_firewall_rule(self.live, "block-445")

    @enabled("name_resolution")
    @rule(broken=st.booleans())
    def name_resolution(self, broken):
        (actions.break_name_resolution if broken else actions.fix_name_resolution)(self.live)

    @enabled("ercs")
    @rule(vm=st.sampled_from(ERCS_VMS), up=st.booleans(), mid_job=st.booleans())
    def ercs(self, vm, up, mid_job):
        if mid_job:
            self._job_in_flight(0.3)
        hub = self.live
        if up:
            actions.restore_ercs(hub, vm)
        elif sum(hub.ercs_up.values()) > 1:  # one VM stays up, as the real stamp needs
            if vm == hub.active_vm:
                self._during_job("ERCS failover while a job runs")
            actions.fail_ercs(hub, vm)

    @enabled("share_space")
    @rule(free_gb=st.one_of(st.none(), st.floats(0, 40)), mid_job=st.booleans())
    def share_space(self, free_gb, mid_job):
        if mid_job:
            self._job_in_flight(0.3)
        if free_gb is None:
            actions.free_share(self.live)
        else:
            actions.fill_share(self.live, free_gb)

    @enabled("server_password")
    @rule()
    def server_password(self):
        self._during_job("credentials changed while a job runs")
        password = f"rotated-{len(self.passwords)}"
        self.passwords.append(password)
        actions.server_set_password(self.live, password)

    @enabled("server_encryption")
    @rule(mode=st.sampled_from(["off", "desired", "required"]))
    def server_encryption(self, mode):
        actions.server_encryption(self.live, mode)

    @enabled("server_dialect")
    @rule(dialect=st.sampled_from(["2.1", "3.1.1", "3.0"]))
    def server_dialect(self, dialect):
        actions.server_max_dialect(self.live, dialect)

    @enabled("tamper")
    @rule(oldest=st.booleans())
    def tamper(self, oldest):
        on_share = self._complete_on_share()
        good = [r for r in self.live.ctl.backups() if r.status == "Succeeded" and r.id in on_share]
        if good:
            chosen = good[0] if oldest else good[-1]
            actions.tamper(self.live, chosen.id)
            self.tampered.add(chosen.id)
            if len(good) > 1:
                self.reach.sometimes("oldest backup tampered" if oldest else "newest backup tampered")

    @enabled("sustained_fault")
    @rule(kind=st.sampled_from(["share_full", "reject", "drop", "dns", "auth"]),
          days=st.floats(0.5, 4.5))
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
        self._run(days * 24 * HOUR)
        undo[kind]()

    @enabled("crash")
    @rule()
    def crash(self):
        self.live.crash_controller()

    @enabled("crash_at")
    @rule(phase=st.sampled_from(PHASES))
    def crash_at(self, phase):
        """The controller dies at a job's first share operation of this phase: the running
        job's, or a new one's; if the job never gets there, nothing happens (for prune, a
        second try: see below)."""
        hub = self.live
        fired = len(hub.crash_points.fired)
        self._crash_in(phase)
        if phase == "prune" and len(hub.crash_points.fired) == fired:
            # Nothing was due for deletion: a job that dies writing leaves its folder, which
            # the next job deletes first. (Waiting for a backup to expire instead took days
            # of virtual time; the row was reached once in a hundred programs.)
            self._crash_in("first chunk")
            self._crash_in("prune")
        hub.crash_points.arm(None)

    def _crash_in(self, phase: str) -> None:
        hub = self.live
        hub.crash_points.arm(phase)
        if hub.running_job is None:
            actions.request_backup(hub)
        self._run(1)
        self._until_idle()

    @enabled("maintenance_at_slot")
    @rule(hours=st.floats(0.1, 6))
    def maintenance_at_slot(self, hours):
        """An update window opens just before a scheduled time: that slot must not run."""
        hub = self.live
        slot = hub.ctl.next_backup_time()
        if slot is None or hub.running_job is not None:
            return
        self._run(max(0, seconds(hub.clock.ticks_until(slot)) - 60))
        actions.maintenance(hub, hours, "update")
        opened = hub.clock.now()
        self._run(120)
        if hub.ctl.next_backup_time() is None:
            return  # the operator's settings changed meanwhile (a crash restarted the controller)
        during = [r for r in hub.ctl.history.all() if r.trigger == "Scheduled"
                  and opened <= parse_iso(r.createdDateTime)]
        for r in during:
            assert r.status == "Skipped" and "update" in " ".join(r.warnings), \
                f"{r.id} ran at {r.createdDateTime}, inside an update window"
        self.reach.sometimes("update window at a scheduled time", bool(during))

    # --- liveness ------------------------------------------------------------------------------

    @enabled("liveness")
    @rule()
    def heal_and_check_liveness(self):
        """Every fault healed (VOPR's liveness mode): a backup must succeed within two periods."""
        hub = self.live
        hub.crash_points.arm(None)
        for r in list(hub.firewall.rules):
            actions.remove_firewall_rule(hub, r.name)
        actions.fix_name_resolution(hub)
        actions.free_share(hub)
        for vm in ERCS_VMS:
            if not hub.ercs_up[vm]:
                actions.restore_ercs(hub, vm)
        actions.server_encryption(hub, "desired")
        actions.server_max_dialect(hub, "3.1.1")
        password = hub.server.users["svc-azsbackup"]
        actions.operator_configure(hub, password=password, scheduler=True)
        windows = [end for _start, end, _kind in hub.maintenance_windows]
        healed = hub.clock.now()
        wait = seconds(max([0] + [end - now_ticks(hub.env) for end in windows]))
        period = hub.ctl.settings.frequency_hours * HOUR
        self._run(wait + 2 * period)
        if hub.budget_bytes() > hub.config.share_capacity_bytes:
            return  # the share cannot hold what retention keeps: no promise to check
        after = [r for r in hub.ctl.history.all() if r.status in GOOD and r.completedDateTime
                 and parse_iso(r.completedDateTime) >= healed]
        assert after, (f"no backup succeeded within two periods ({2 * period / HOUR:g} hours) "
                       "of every fault healing")


class WireHubMachine(HubMachine):
    fidelity = "wire"
