"""Restoring roles into a target folder, all or nothing.

Each role is rebuilt in a hidden staging folder beside its destination, then every staged role
is renamed into place at the very end, so an integrity error at any byte leaves the target as
it was. The decoder has already refused paths that escape the role or pass through a symlink;
files are still opened with O_EXCL | O_NOFOLLOW as a second line of defence.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterable

from engine.backup_reader import BackupReader
from engine.entries import Entry, FileData, FileEnd, Kind, StreamEnd, Symlink
from engine.errors import BadInput
from engine.share.local import Writeback

_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def check_target(target: str, roles: Iterable[str]) -> None:
    """Refuse, before anything is read, a target that cannot receive these roles."""
    if os.path.exists(target) and not os.path.isdir(target):
        raise BadInput(f"restore target {target} is a file, not a folder")
    for role in roles:
        dest = os.path.join(target, role)
        if os.path.lexists(dest):
            raise BadInput(f"restore target {dest} already exists; choose an empty target folder")


def _stage_role(reader: BackupReader, role: str, staging: str,
                on_bytes: Callable[[int], None], threads: bool = True) -> None:
    dirs: list[tuple[str, Entry]] = []
    fd = -1
    file_entry: Entry | None = None
    file_path = ""
    writeback: Writeback | None = None  # of the file being restored (engine.share.local)
    try:
        for event in reader.events(role, threads=threads):
            if isinstance(event, FileData):
                view = event.data
                while view:
                    view = view[os.write(fd, view):]
                assert writeback is not None
                writeback.wrote(len(event.data))
                on_bytes(len(event.data))
            elif isinstance(event, Entry):
                path = os.path.join(staging, os.fsdecode(event.path)) if event.path else staging
                if event.kind is Kind.DIR:
                    os.mkdir(path, 0o700)
                    dirs.append((path, event))
                else:  # FILE
                    fd = os.open(path, _FILE_FLAGS, 0o600)
                    file_entry, file_path = event, path
                    writeback = Writeback(fd)
            elif isinstance(event, FileEnd):
                assert file_entry is not None
                os.fchmod(fd, file_entry.mode)
                os.close(fd)
                fd = -1
                os.utime(file_path, ns=(file_entry.mtime_ns, file_entry.mtime_ns),
                         follow_symlinks=False)
            elif isinstance(event, Symlink):
                path = os.path.join(staging, os.fsdecode(event.entry.path))
                os.symlink(event.target, path)
                os.utime(path, ns=(event.entry.mtime_ns,) * 2, follow_symlinks=False)
            elif isinstance(event, StreamEnd):
                pass
    finally:
        if fd >= 0:
            os.close(fd)
    # Folders last and deepest first: their modes may forbid writing, and adding children
    # would move their modification times.
    for path, entry in reversed(dirs):
        os.chmod(path, entry.mode)
        os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns))


def restore_roles(reader: BackupReader, roles: list[str], target: str,
                  on_bytes: Callable[[int], None] = lambda n: None,
                  threads: bool = True) -> list[str]:
    """Restore ``roles`` into ``target/<ROLE>``; return the folders created.

    With ``threads`` (the default) each role's records are read, hashed and opened ahead in
    two threads while this thread parses entries and writes files; the result is the same.
    """
    for role in roles:
        reader.role(role)
    check_target(target, roles)
    os.makedirs(target, exist_ok=True)
    staged: list[tuple[str, str]] = []
    try:
        for role in roles:
            staging = os.path.join(target, f".ibs-restore-{role}-{secrets.token_hex(4)}")
            staged.append((staging, os.path.join(target, role)))
            _stage_role(reader, role, staging, on_bytes, threads)
        for staging, dest in staged:
            os.rename(staging, dest)
        return [dest for _, dest in staged]
    except BaseException:
        for staging, _ in staged:
            _remove(staging)
        raise


def _remove(path: str) -> None:
    """Delete a staging folder even where restored modes made parts of it read-only."""
    if not os.path.lexists(path):
        return
    os.chmod(path, 0o700)
    for dirpath, dirnames, _files in os.walk(path):
        for name in dirnames:
            child = os.path.join(dirpath, name)
            if not os.path.islink(child):
                os.chmod(child, 0o700)
    shutil.rmtree(path)
