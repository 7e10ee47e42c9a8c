"""The simulated controller's state directory, kept in memory the way memshare keeps the share.

A simulated year saves some 9,000 store files (every job record twice or more, its generation
token, the schedule, the alerts): writing each as a real file was a tenth of the hub's time.
``MemoryStore`` is the engine's ``Store`` with its JSON files held in memory: each value as
written (a marshal snapshot, taken at the write), turned into the text ``Store`` would write
when something first reads it. Only this process uses a simulation's store (``private``), so
reads come from that text, exactly as a private store answers them after a write. A value JSON
cannot hold (a set, bytes) fails when its text is made rather than at the write.

The files still reach the disk, each as last written, whenever something asks where the store
is (``root``): whoever inspects the files there (a scan for secrets, a person) finds what a
real store would hold. The engine itself never asks; it names files through ``path``.
"""

from __future__ import annotations

import marshal
import os
from typing import Any

from ibs.engine.errors import JobSlotTaken
from ibs.engine.store import SLOT_TAKEN, JobSlot, Store


class MemoryStore(Store):
    def __init__(self, root: str) -> None:
        self._dirty: set[str] = set()  # written in memory since the last flush
        # Values written and not yet turned into text, as marshal bytes (a snapshot of the
        # value as the caller passed it, at a sixth of the cost of its JSON), or the value
        # itself when the caller handed it over (``owned``: the history hands over the copy it
        # caches, so a record is snapshot once, not twice): most files are written again
        # before anything reads them, and a job record is written five times a backup and
        # read never. Their text is made when it is first needed.
        self._pending: dict[str, Any] = {}
        self.slot_holder: _MemorySlot | None = None  # which of its job slots holds the slot
        super().__init__(root, durable=False, private=True)

    # ``Store`` keeps its folder in ``root``; here reading it writes the files out first.
    @property
    def root(self) -> str:
        self.flush()
        return self._root

    @root.setter
    def root(self, value: str) -> None:
        self._root = value

    def path(self, *parts: str) -> str:
        return os.path.join(self._root, *parts)

    def job_slot(self) -> JobSlot:
        return _MemorySlot(self)

    def write_json(self, name: str, value: Any, *, owned: bool = False) -> None:
        if owned and type(value) is not bytes:  # bytes stand for a snapshot in ``_pending``
            self._pending[name] = value
        else:
            try:
                self._pending[name] = marshal.dumps(value)
            except ValueError:  # not a plain JSON value: its text now, as ``Store`` makes it
                self._written[name] = self._text(value)
                self._pending.pop(name, None)
        self._writes[name] = self._writes.get(name, 0) + 1
        self._dirty.add(name)

    def _settle(self) -> None:
        """Turn every pending value into its text (what ``Store.write_json`` would have kept)."""
        pending, self._pending = self._pending, {}
        for name, kept in pending.items():
            self._written[name] = self._text(_value(kept))

    def read_json(self, name: str, default: Any = None) -> Any:
        kept = self._pending.pop(name, _NONE)
        if kept is not _NONE:
            self._written[name] = self._text(_value(kept))
        return super().read_json(name, default)

    def named_json(self, folder: str) -> list[tuple[str, Any]]:
        self._settle()
        prefix = folder.rstrip("/") + "/"
        names = {n for n in os.listdir(self.path(folder))
                 if n.endswith(".json") and not n.startswith(".")}
        names.update(n[len(prefix):] for n in self._written
                     if n.startswith(prefix) and "/" not in n[len(prefix):]
                     and n.endswith(".json") and not n[len(prefix):].startswith("."))
        return [(self.path(folder, n), self.read_json(f"{prefix}{n}")) for n in sorted(names)]

    def texts(self) -> dict[str, str]:
        """Every file's text as last written (what ``flush`` puts on the disk), by name."""
        self._settle()
        return dict(self._written)

    def flush(self) -> None:
        """Write every file changed in memory to the disk (atomically, as ``Store`` does)."""
        self._settle()
        dirty, self._dirty = self._dirty, set()
        for name in sorted(dirty):
            self._write_file(name, self._written[name])


class _MemorySlot(JobSlot):
    """The job slot of a store no other process uses, held in the store object rather than as
    an flock on a lock file (four system calls a job): one holder at a time among the store's
    slots, as the flock allows one among a real store's, whichever slot asks again."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self._store = store

    def acquire(self) -> None:
        if self._store.slot_holder is not None:
            raise JobSlotTaken(SLOT_TAKEN)
        self._store.slot_holder = self

    def release(self) -> None:
        if self._store.slot_holder is self:
            self._store.slot_holder = None

    @property
    def held(self) -> bool:
        return self._store.slot_holder is self


_NONE = object()  # no pending value (a value handed over may be None itself)


def _value(kept: Any) -> Any:
    """A pending value: a snapshot's bytes turned back into the value, or the value itself."""
    return marshal.loads(kept) if type(kept) is bytes else kept
