"""Restoring roles into a target folder, all or nothing.

Each role is rebuilt in a hidden staging folder beside its destination, then every staged role
is renamed into place at the very end, so an integrity error at any byte leaves the target as
it was. The decoder has already refused paths that escape the role or pass through a symlink;
files are still opened with O_EXCL | O_NOFOLLOW as a second line of defence. Files of
``DIRECT_MIN`` bytes or more are written around the page cache, from a thread of their own
(``engine.direct_write``); the rest through it.

The target's own failures (full, read-only, a name too long...) end the restore the same way:
one ``RestoreTargetError`` naming the path as the user will know it and the cause, and nothing
of the restore left behind. Staging folders are named ``.ibs-restore-<role>-<pid>-<random>``, so
the next restore into the same target removes those a killed restore left.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator

from ibs.engine.backup_reader import BackupReader
from ibs.engine.direct_write import DIRECT_MIN, DirectFile, DirectWriter
from ibs.engine.entries import Entry, FileData, FileEnd, Kind, StreamEvent, Symlink
from ibs.engine.errors import BadInput, GeneralFaultError, IbsError
from ibs.engine.share.local import WRITEBACK_WINDOW, Writeback

_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
STAGING_PREFIX = ".ibs-restore-"
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()

# A target that cannot take the roles as chosen is the user's input to change (exit 2); a
# target that fails while writing (full, an I/O error) is a failed operation (exit 1).
_TARGET_FAULTS = {
    errno.EACCES: "permission denied; choose a target folder this account may write to",
    errno.EPERM: "operation not permitted; choose a target folder this account may write to",
    errno.EROFS: "read-only file system; choose a writable target folder",
    errno.ENOENT: "a folder on the way does not exist (a dangling symlink, or removed during "
                  "the restore); choose another target",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another target",
    errno.ENAMETOOLONG: "the path is too long for this file system; choose a shorter target",
    errno.EEXIST: "something that is not a folder is in the way (a dangling symlink?); "
                  "choose another target",
}
_WRITE_FAULTS = {
    errno.ENOSPC: "no space left on the device; free some or choose another target",
    errno.EDQUOT: "disk quota exceeded; free some or choose another target",
}


class RestoreTargetError(IbsError):
    """The restore target refused a write; nothing of the restore is left in it."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


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
    chmod_file = False
    inexact = 0o7777  # mode bits open() may not set as asked (known once staging exists)
    prefix = staging + os.sep
    path = staging
    writeback: Writeback | None = None  # of the file being restored, if big enough for hints
    big: DirectFile | None = None  # the file being restored, if written O_DIRECT
    direct = DirectWriter(threads)
    try:
        # Per event, only what the event needs: many roles are mostly small files, where the
        # Python around the few system calls is most of a restore's time.
        for batch in _from_share(reader.event_batches(role, threads=threads, sha256=False), role):
            written = 0
            for event in batch:
                cls = event.__class__
                if cls is FileData:
                    data = event.data  # type: ignore[union-attr]
                    if big is not None:
                        big.write(data)
                        written += len(data)
                        continue
                    n = os.write(fd, data)
                    while n < len(data):
                        n += os.write(fd, data[n:])
                    written += n
                    if writeback is not None:
                        writeback.wrote(n)
                elif cls is Entry:
                    entry: Entry = event  # type: ignore[assignment]
                    path = prefix + entry.path.decode(_FS_ENCODING, _FS_ERRORS) if entry.path \
                        else staging
                    if entry.kind is Kind.FILE:
                        # Created with its final mode where open() sets it exactly: one system
                        # call fewer per file than a chmod after.
                        chmod_file = bool(entry.mode & inexact)
                        fd = os.open(path, _FILE_FLAGS, 0o600 if chmod_file else entry.mode)
                        file_entry = entry
                        big = direct.start(fd) if entry.size >= DIRECT_MIN else None
                        writeback = Writeback(fd) if big is None and entry.size > WRITEBACK_WINDOW \
                            else None
                    else:  # DIR
                        os.mkdir(path, 0o700)
                        dirs.append((path, entry))
                        if not entry.path:
                            inexact = _inexact_mode_bits(staging)
                elif cls is FileEnd:
                    assert file_entry is not None
                    if big is not None:
                        big.finish()  # every write done before the times are set
                        big = None
                    if chmod_file:
                        os.fchmod(fd, file_entry.mode)
                    # Through the descriptor (futimens), after the last write: no second lookup
                    # of the path. (Writing small files from a few threads instead was measured
                    # and dropped: creates in one folder contend in the kernel, and on two cores
                    # it took more CPU and more time.)
                    os.utime(fd, ns=(file_entry.mtime_ns, file_entry.mtime_ns))
                    closing, fd = fd, -1
                    os.close(closing)
                elif cls is Symlink:
                    link: Symlink = event  # type: ignore[assignment]
                    path = prefix + link.entry.path.decode(_FS_ENCODING, _FS_ERRORS)
                    os.symlink(link.target, path)
                    os.utime(path, ns=(link.entry.mtime_ns,) * 2, follow_symlinks=False)
            if written:
                on_bytes(written)
        # Folders last and deepest first: their modes may forbid writing, and adding children
        # would move their modification times.
        for path, entry in reversed(dirs):
            os.chmod(path, entry.mode)
            os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns))
    except OSError as exc:
        if exc.filename is None:  # os.write and os.fchmod name no path
            exc.filename = path
        raise
    finally:
        if big is not None:
            big.abandon()  # no write in flight may outlive the descriptor
        direct.close()
        if fd >= 0:
            os.close(fd)


def _inexact_mode_bits(folder: str) -> int:
    """The mode bits that ``open(O_CREAT)`` in ``folder`` may not give a file as asked: the
    umask's, and setuid, setgid and sticky (which the kernel may drop); all of them where a
    default ACL, not the umask, decides, or where the umask cannot be read."""
    if not hasattr(os, "getxattr"):  # not Linux: no way to tell, chmod every file
        return 0o7777
    try:
        os.getxattr(folder, "system.posix_acl_default")
    except OSError as exc:
        if exc.errno not in (errno.ENODATA, errno.ENOTSUP):
            return 0o7777
    else:
        return 0o7777  # a default ACL masks the mode instead of the umask
    umask = _umask()
    return 0o7777 if umask is None else umask | 0o7000


def _umask() -> int | None:
    """This process's umask, read without changing it (``os.umask`` would, for every thread)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _from_share(batches: Iterator[list[StreamEvent]], role: str) -> Iterator[list[StreamEvent]]:
    """The event lists, with an OS error of the share's reading told apart from the target's."""
    try:
        yield from batches
    except OSError as exc:
        raise GeneralFaultError(f"reading role {role} from the share failed: "
                                f"{(exc.strerror or str(exc)).lower()}") from None


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
    # Folders made on the way to a target that could not be made are taken back; a target
    # made stays, empty, as a target given empty does.
    on_the_way = _missing_folders(target)
    staged: list[tuple[str, str]] = []
    placed: list[str] = []
    try:
        os.makedirs(target, exist_ok=True)
        on_the_way = []
        remove_stale_staging(target)
        for role in roles:
            staging = os.path.join(
                target, f"{STAGING_PREFIX}{role}-{os.getpid()}-{secrets.token_hex(4)}")
            staged.append((staging, os.path.join(target, role)))
            _stage_role(reader, role, staging, on_bytes, threads)
        for staging, dest in staged:
            os.rename(staging, dest)
            placed.append(dest)
        return placed
    except BaseException as exc:
        # check_target found no role folder: those placed here are this restore's own.
        for path in [s for s, _ in staged] + placed:
            _remove_quietly(path)
        for folder in on_the_way:
            try:
                os.rmdir(folder)
            except FileNotFoundError:
                continue  # never made: makedirs failed below it
            except OSError:
                break  # not empty: someone else's now
        if isinstance(exc, OSError):
            raise _target_error(exc, staged, target) from None
        raise


def _missing_folders(target: str) -> list[str]:
    """The folders ``os.makedirs(target)`` would create, deepest first."""
    out = []
    path = os.path.abspath(target)
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        out.append(path)
        path = os.path.dirname(path)
    return out


def _target_error(exc: OSError, staged: list[tuple[str, str]], target: str) -> RestoreTargetError:
    path = os.fsdecode(exc.filename) if exc.filename is not None else target
    for staging, dest in staged:  # the user knows the role's folder, not our staging name
        if path == staging or path.startswith(staging + os.sep):
            path = dest + path[len(staging):]
    if exc.errno in _TARGET_FAULTS:
        cause, code = _TARGET_FAULTS[exc.errno], BadInput.exit_code
    else:
        fault = _WRITE_FAULTS.get(exc.errno) if exc.errno is not None else None
        cause = fault if fault is not None else (exc.strerror or str(exc)).lower()
        code = IbsError.exit_code
    return RestoreTargetError(f"restore failed, nothing was restored: cannot write {path}: {cause}",
                              code)


def remove_stale_staging(target: str) -> list[str]:
    """Remove the staging folders that restores which died left in ``target``; return them.

    A staging folder whose process still runs is another restore's, working: it stays.
    Folders named without a process id (left by older versions) are always stale.
    """
    removed = []
    for name in os.listdir(target):
        if not name.startswith(STAGING_PREFIX):
            continue
        parts = name[len(STAGING_PREFIX):].rsplit("-", 2)
        if len(parts) == 3 and parts[1].isdigit() and _alive(int(parts[1])):
            continue
        path = os.path.join(target, name)
        try:
            _remove(path)
        except OSError:
            continue  # best effort: this restore does not need it gone
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process, or not a pid we can ask about: leave it be
    return True


def _remove_quietly(path: str) -> None:
    try:
        _remove(path)
    except OSError:
        pass  # left for the next restore, which removes stale staging first


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
