"""Crashing the controller at a chosen phase of a running job: the fuzzer's crash points.

A crash between two steps of a job (``Hub.crash_controller``) never lands inside the last step,
which writes the manifest, renames the backup into place and prunes. Here the share the engine
writes through is watched, and an armed crash strikes at the first operation of its phase:
the job dies inside that operation, as a killed process would, leaving what it left.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol, Self

from ibs.engine import layout
from ibs.engine.job import Job
from ibs.engine.share.base import Share, ShareStat

#: A job's phases in the order it meets them (prune: deleting expired backups or leftovers).
PHASES = ("snapshot", "first chunk", "mid-transfer", "manifest", "rename", "prune")


class ControllerCrashed(BaseException):
    """The controller's process died inside a job step. A BaseException: no engine handler
    (they catch ``Exception``) may treat a dead process as a failure it can report."""


class Host(Protocol):
    """What the crash points need of the hub (simulator/hub.py, which owns them)."""

    crash_pending: bool

    @property
    def running_job(self) -> Job | None: ...


class CrashPoints:
    """The hub's crash points: ``arm(phase)``; what struck is in ``fired`` (phases, in order)."""

    def __init__(self, hub: Host) -> None:
        self.hub = hub
        self.armed: str | None = None
        self.fired: list[str] = []
        self._job: str | None = None
        self._writes = 0

    def arm(self, phase: str | None) -> None:
        if phase is not None and phase not in PHASES:
            raise ValueError(f"crash phase must be one of {', '.join(PHASES)}, not {phase!r}")
        self.armed = phase

    def wrap(self, share: Share) -> Share:
        return _WatchedShare(share, self)

    def observe(self, op: str, path: str) -> None:
        job = self.hub.running_job
        if job is None:
            return
        job_id = job.record.id
        if job_id != self._job:
            self._job, self._writes = job_id, 0
        writes = self._writes
        if op == "write":
            self._writes = writes + 1
        if self.armed is None:
            return
        if self._phase(op, path, writes, layout.partial_dir(job.record.id)) == self.armed:
            phase = self.armed
            self.armed = None
            self.fired.append(phase)
            job.kill()
            self.hub.crash_pending = True  # the controller restarts on the same VM
            raise ControllerCrashed(phase)

    @staticmethod
    def _phase(op: str, path: str, writes: int, partial: str) -> str | None:
        if op == "mkdir" and path.startswith(partial):
            return "snapshot"  # the sources are snapshotted; the writer makes its folder
        if path.endswith("/" + layout.MANIFEST) and path.startswith(partial):
            return "manifest" if op in ("create", "write") else None
        if op == "write":
            return "first chunk" if writes == 0 else "mid-transfer"
        if op == "rename":
            return "rename" if path == partial else "prune"  # prune renames before deleting
        if op == "delete" and not path.startswith(partial):
            return "prune"
        return None


class _WatchedShare(Share):
    """The engine's share, with every change reported to the crash points first.

    It passes on the Share interface and nothing else: a class with ``__getattr__`` has every
    attribute read go the slow way (CPython specialises no attribute access on it), and these
    wrappers are read at every share operation and every record written."""

    def __init__(self, inner: Share, points: CrashPoints) -> None:
        self._inner = inner
        self._points = points

    def connect(self) -> None:
        self._inner.connect()
        self.transfer_encrypted = self._inner.transfer_encrypted  # known once connected

    def close(self) -> None:
        self._inner.close()

    def describe(self) -> str:
        return self._inner.describe()

    def listdir(self, path: str) -> list[str]:
        return self._inner.listdir(path)

    def stat(self, path: str) -> ShareStat | None:
        return self._inner.stat(path)

    def makedirs(self, path: str) -> None:
        self._points.observe("mkdir", path)
        self._inner.makedirs(path)

    def create(self, path: str) -> BinaryIO:
        self._points.observe("create", path)
        return _WatchedFile(self._inner.create(path), path, self._points)  # type: ignore[return-value]

    def open(self, path: str) -> BinaryIO:
        return self._inner.open(path)

    def rename(self, src: str, dst: str) -> None:
        self._points.observe("rename", src)
        self._inner.rename(src, dst)

    def remove(self, path: str) -> None:
        self._points.observe("delete", path)
        self._inner.remove(path)

    def rmtree(self, path: str) -> None:
        self._points.observe("delete", path)
        self._inner.rmtree(path)

    def free_space(self) -> int:
        return self._inner.free_space()

    def total_space(self) -> int:
        return self._inner.total_space()


class _WatchedFile:
    """A file being created on a watched share: what the engine asks of one (write, close, a
    context), with every write reported to the crash points first."""

    __slots__ = ("_inner", "_path", "_points", "_write")

    def __init__(self, inner: BinaryIO, path: str, points: CrashPoints) -> None:
        self._inner = inner
        self._path = path
        self._points = points
        self._write = inner.write

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if isinstance(exc, ControllerCrashed):
            return  # a dead process closes nothing (at wire fidelity a close is a request)
        self._inner.__exit__(kind, exc, tb)  # type: ignore[arg-type]

    def close(self) -> None:
        self._inner.close()

    def write(self, data) -> int:
        self._points.observe("write", self._path)
        return self._write(data)
