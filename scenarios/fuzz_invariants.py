"""The stateful fuzzer's invariants, checked after every rule, and its check of each finished job.

A mixin of ``HubMachine`` (scenarios/fuzz.py): hypothesis collects invariants from its bases.
It reads the machine's ``hub``, ``problems``, ``reach``, ``passwords`` and ``secrets``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis.stateful import invariant

from ibs.engine import layout
from ibs.simulator import gate

if TYPE_CHECKING:
    from ibs.scenarios.fuzz_reach import Reach
    from ibs.scenarios.fuzz_secrets import SecretWatch
    from ibs.simulator.hub import Hub

GOOD = ("Succeeded", "PartialSucceeded")


class HubInvariants:
    hub: Hub | None
    problems: list[str]
    reach: Reach
    passwords: list[str]
    secrets: SecretWatch

    @property
    def live(self) -> Hub:
        """The hub a rule acts on; hypothesis runs ``start`` before any rule, so None is a bug."""
        if self.hub is None:
            raise RuntimeError(f"{type(self).__name__}: a rule ran before start() made the hub")
        return self.hub

    # --- invariants --------------------------------------------------------------------------

    def _job_finished(self, record) -> None:
        """At the instant a job finishes: its alert, and what retention left on the share."""
        hub = self.live
        active = {a.category for a in hub.ctl.alert_book().active()}
        if record.status == "Failed":
            self.reach.sometimes("share filled mid-write", "disk full" in record.error["message"])
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
    def backups_as_the_share_holds_them(self):
        """Nothing on the share looks complete unless it is a finished backup; and each deleted
        backup had a newer good one, complete before the deletion. (One invariant: both read
        every record, and reading them was a tenth of a program's time.)"""
        if self.hub is None:
            return
        records = self.hub.ctl.backups()
        finished = {r.id for r in records if r.status in GOOD}
        for name in self._complete_on_share():
            assert name in finished, f"{name} on the share looks complete but is not a finished backup"
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
        hub = self.hub
        secrets = [p.encode() for p in self.passwords]
        for _cer, pfx, password in hub.certs.values():
            secrets += [pfx, password.encode()]
        where = self.secrets.leak(hub, secrets)
        assert where is None, f"a secret reached {where}"

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


def _epoch(iso: str) -> float:
    return parse_iso(iso).timestamp()


def parse_iso(iso: str):
    from ibs.engine.manifest import parse_time

    return parse_time(iso)
