"""The interface the engine uses for storage, whatever carries the bytes.

Paths are relative to the share's backup root (the folder named by the storage location),
written with ``/`` and never starting with one: ``MASBackup/<id>/manifest.json``. An
implementation maps them onto a local directory, an SMB tree, or a simulated store.

Every failure an implementation reports is a ``ShareError`` whose category is the alert it
raises (``engine.errors``); anything else escaping an implementation is a bug in it.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import BinaryIO, Self

from ibs.engine.errors import BadInput


@dataclass(frozen=True, slots=True)
class ShareStat:
    size: int
    is_dir: bool


def validate_relpath(path: str) -> str:
    """Return ``path`` if it is a clean relative share path, else raise ``BadInput``."""
    # Membership tests on the split parts, not a loop over them: every file a backup creates
    # is checked, and the C-level scans cost a fraction of a Python loop's steps.
    if not path or path[0] == "/" or "\\" in path or "\x00" in path:
        raise BadInput(f"not a relative share path: {path!r}")
    parts = path.split("/")
    if "" in parts or "." in parts or ".." in parts:
        raise BadInput(f"not a relative share path: {path!r}")
    return path


def join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


class Share(abc.ABC):
    """A storage location for backups.

    Use as a context manager: ``connect`` on entry (it checks that the location exists and the
    credentials work), ``close`` on exit. Writers returned by ``create`` make their bytes
    durable on ``close`` (the engine commits a backup only after every file is closed).
    """

    #: Whether bytes travel encrypted on the wire (SMB 3 encryption); ``None`` for a local path.
    transfer_encrypted: bool | None = None

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the location; raise ``PathFaultError`` if it does not exist."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release every resource; safe to call twice."""

    @abc.abstractmethod
    def describe(self) -> str:
        """A one-line, secret-free description for messages: the path as the user wrote it."""

    @abc.abstractmethod
    def listdir(self, path: str) -> list[str]:
        """Names in the folder ``path`` (``""`` is the root), sorted; ``PathFaultError`` if absent."""

    @abc.abstractmethod
    def stat(self, path: str) -> ShareStat | None:
        """Size and kind of ``path``, or ``None`` when nothing is there."""

    @abc.abstractmethod
    def makedirs(self, path: str) -> None:
        """Create the folder ``path`` and its parents; no error if it exists."""

    @abc.abstractmethod
    def create(self, path: str) -> BinaryIO:
        """Open ``path`` for writing from empty (replacing a file already there)."""

    @abc.abstractmethod
    def open(self, path: str) -> BinaryIO:
        """Open ``path`` for reading; ``PathFaultError`` if absent."""

    @abc.abstractmethod
    def rename(self, src: str, dst: str) -> None:
        """Move a file or folder; the destination must not exist."""

    @abc.abstractmethod
    def remove(self, path: str) -> None:
        """Delete one file."""

    @abc.abstractmethod
    def rmtree(self, path: str) -> None:
        """Delete a folder and everything under it; no error if it is already gone."""

    @abc.abstractmethod
    def free_space(self) -> int:
        """Bytes that can still be written."""

    @abc.abstractmethod
    def total_space(self) -> int:
        """The capacity of the share in bytes."""

    # Conveniences built on the primitives above.

    def exists(self, path: str) -> bool:
        return self.stat(path) is not None

    def read_bytes(self, path: str) -> bytes:
        with self.open(path) as f:
            return f.read()

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.create(path) as f:
            f.write(data)
