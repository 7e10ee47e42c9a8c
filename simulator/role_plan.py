"""Sizing each backup's roles so the engine stores exactly the backup's modelled size.

At the instant a backup starts, its modelled size (simulator/growth.py) is turned into real bytes
(simulator/scale.py) and shared among the roles by weight (simulator/shape.py), less what the
backup stores beyond role data (framing, manifest: learnt once from a calibration backup) and
less a fixed slack. The plan also tells the link how many modelled bytes the job moves.
"""

from __future__ import annotations

from collections.abc import Callable

from ibs.simulator import scale, shape
from ibs.simulator.roles import WEIGHTS, RoleSnapshot, RoleState

#: Real bytes a backup is planned below its modelled size. The engine checks the share's free
#: space against the last backup scaled by its sources (engine/job.py), framing included; at
#: the simulation's scale framing is a few percent of a backup, so that estimate can exceed the
#: next backup by some real bytes where it grows, or where a short compressed chunk makes its
#: sources a few bytes larger. Without this margin a share of exactly the size sizing calls
#: required would refuse a backup it can hold.
ESTIMATE_SLACK = 56
_SAVINGS_KEPT = 4096  # entries, before the memo starts again


class RolePlan:
    def __init__(self, roles: dict[str, RoleState]) -> None:
        self.roles = roles
        # What a backup stores beyond its role data; learnt from the calibration backup.
        self.framing = shape.Framing(scale.SIM_CHUNK_SIZE, 0, 0)
        # The running backup's plan: (instant, framing, role data, state bytes, modelled size).
        self._plan: tuple[int, shape.Framing, dict[str, int], dict[str, int], int] | None = None
        self._snapshots: dict[str, RoleSnapshot] = {}
        # What compression saves on a role's last chunk, by the snapshot's state and size (the
        # seed is the hub's; the framing, this plan's): a role the tenants left alone between
        # two backups of one size ends its stream the same way (about a third of a year's
        # roles), and finding out is a zstd run.
        self._savings: dict[tuple[str, int, int, int], int] = {}

    def calibrate(self, framing: shape.Framing) -> None:
        self.framing = framing
        self._savings.clear()  # its chunk size and entry bytes place each role's last chunk

    def snapshot(self, role: str, now: int, modelled_bytes: Callable[[], int]) -> RoleSnapshot:
        """Role ``role``'s snapshot for the backup starting at ``now`` (ticks), of
        ``modelled_bytes()`` bytes (asked once per plan); every role of one instant comes from
        one plan."""
        plan = self._plan
        if plan is None or plan[0] != now:
            plan = self._make_plan(now, modelled_bytes())
        # The snapshot the plan sized is the one the backup reads, while the role stays as it
        # was (a backup's roles are snapshotted together, at the instant it starts).
        kept = self._snapshots[role]
        state = self.roles[role]
        if kept.version == state.version and kept.objects == state.objects:
            return kept
        return state.snapshot(plan[2][role])

    def _make_plan(self, now: int, modelled: int) -> tuple[int, shape.Framing, dict[str, int],
                                                            dict[str, int], int]:
        roles, framing = self.roles, self.framing
        state = {name: r.state_size() for name, r in roles.items()}
        tried: dict[tuple[str, int], RoleSnapshot] = {}
        known = self._savings
        if len(known) > _SAVINGS_KEPT:
            known.clear()

        def saving(name: str, data_bytes: int) -> int:
            snapshot = tried[name, data_bytes] = roles[name].snapshot(data_bytes)
            key = (name, snapshot.version, snapshot.objects, snapshot.data_bytes)
            found = known.get(key)
            if found is None:
                found = known[key] = shape.last_chunk_saving(snapshot, framing.chunk_size,
                                                             framing.entry_bytes)
            return found

        data = shape.plan(max(0, scale.to_real(modelled) - ESTIMATE_SLACK), framing, state,
                          WEIGHTS, saving)
        plan = self._plan = (now, framing, data, state, modelled)
        self._snapshots = {name: tried.get((name, d)) or roles[name].snapshot(d)
                           for name, d in data.items()}
        return plan

    def transfer(self) -> tuple[int, int] | None:
        """(entry-stream bytes, modelled bytes) of the backup being written, once its roles are
        sized: the job moves its modelled size over the link in proportion to its progress, so
        its duration does not depend on the scale."""
        if self._plan is None:
            return None
        _, framing, data, state, modelled = self._plan
        return shape.plain_bytes(framing, data, state), modelled
