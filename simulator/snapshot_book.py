"""Each backup's role snapshots, kept by the hub for its restores (simulator/recovery.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ibs.simulator.roles import RoleSnapshot


class SnapshotBook(Mapping[str, dict[str, RoleSnapshot]]):
    """By backup id, in the order kept, the snapshots of its roles by role.

    Kept as two flat tuples per backup, of names and of numbers, not as snapshot objects: a
    year keeps some 730 backups of ten roles, and their snapshots (each with a weak reference)
    and dicts were 13,000 objects a year more for the garbage collector to count and walk. A
    snapshot is wholly made of its seed, name, version, objects and data bytes, so one made
    again from them answers as the one the backup read (though it is another object).
    """

    def __init__(self) -> None:
        # By backup: (role, seed, name) and (version, objects, data bytes) of each snapshot.
        self._kept: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}

    def keep(self, backup_id: str, snapshots: Mapping[str, RoleSnapshot]) -> int:
        """Keep a backup's snapshots (by role); how many roles they are."""
        names: list[str] = []
        numbers: list[int] = []
        for role, s in snapshots.items():
            names += (role, s.seed, s.name)
            numbers += (s.version, s.objects, s.data_bytes)
        self._kept[backup_id] = (tuple(names), tuple(numbers))
        return len(snapshots)

    def __getitem__(self, backup_id: str) -> dict[str, RoleSnapshot]:
        names, numbers = self._kept[backup_id]
        return {names[i]: RoleSnapshot(names[i + 1], names[i + 2], *numbers[i:i + 3])
                for i in range(0, len(names), 3)}

    def __contains__(self, backup_id: object) -> bool:
        return backup_id in self._kept

    def __iter__(self) -> Iterator[str]:
        return iter(self._kept)

    def __len__(self) -> int:
        return len(self._kept)
