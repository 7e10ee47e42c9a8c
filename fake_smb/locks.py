"""Byte-range locks: the server-wide table, its conflict rules and its waiting lock requests.

Locks belong to an open (MS-FSA 2.1.5.7: Open, not process or session), and bind every open
of the same file, so the table is server-wide and keyed by the file's identity (device, inode),
as the share modes are (share_modes.py).  Each open that locks gets a ``LockOwner`` in its
entry; release.py lets go of it whatever ends the open.

The rules are Samba's for SMB2 (its Windows-flavoured brlock), which MS-FSA describes too:
- two ranges overlap when each starts before the other ends, so a zero-length range overlaps
  only a range that holds its offset past its first byte, and never another zero-length one;
- shared locks never conflict with each other; a shared lock may stack on an exclusive lock of
  the same open; anything else that overlaps conflicts, even within one open;
- an unlock names exactly one held range (same offset and length) of the same open, an
  exclusive one before a shared one.

A blocking lock request that conflicts waits (``Waiter``) until a release lets it through, it
is cancelled, or its open is closed.  One re-entrant mutex covers the table and the waiters,
and a waiter is told of its fate under it, so its interim answer always goes out before its
final one.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from impacket.nt_errors import (
    STATUS_CANCELLED,
    STATUS_INVALID_LOCK_RANGE,
    STATUS_INVALID_PARAMETER,
    STATUS_LOCK_NOT_GRANTED,
    STATUS_RANGE_NOT_LOCKED,
    STATUS_SUCCESS,
)

Key = tuple[int, int]
OWNER_KEY = "ByteRangeLocks"  # the open entry's LockOwner, made at its first LOCK
_OFFSET_SPACE = 1 << 64  # a lock may end at 2**64 but not past it (MS-FSA 2.1.5.7)


@dataclass(frozen=True)
class Range:
    offset: int
    length: int
    exclusive: bool = False

    def overlaps(self, offset: int, length: int) -> bool:
        return self.offset < offset + length and offset < self.offset + self.length

    @property
    def valid(self) -> bool:
        return self.length == 0 or self.offset + self.length <= _OFFSET_SPACE


@dataclass(eq=False)
class LockOwner:
    """The locks of one open."""

    table: LockTable
    key: Key

    def release(self) -> None:
        """The open is closed: its waiting requests fail, its locks go."""
        self.table.release_owner(self)

    def release_locks(self) -> None:
        """Only the held locks go, so that waiting requests of other opens, even of those
        about to be closed with this one, are granted first (TREE_DISCONNECT, LOGOFF)."""
        self.table.release_locks(self)


@dataclass(eq=False)
class Waiter:
    """A blocking lock request waiting for its range; ``answer`` sends its final status."""

    owner: LockOwner
    range: Range
    conn_id: str
    message_id: int
    async_id: int
    answer: Callable[[int], None] = field(repr=False)


@dataclass(frozen=True)
class _Held:
    owner: LockOwner
    range: Range


def _blocks(held: _Held, owner: LockOwner, wanted: Range) -> bool:
    if not held.range.overlaps(wanted.offset, wanted.length):
        return False
    if not held.range.exclusive and not wanted.exclusive:
        return False
    # A shared lock stacks on the same open's exclusive lock.
    return not (held.range.exclusive and not wanted.exclusive and held.owner is owner)


class LockTable:
    def __init__(self) -> None:
        self.mutex = threading.RLock()
        self._held: dict[Key, list[_Held]] = {}
        self._waiting: list[Waiter] = []
        self._async_ids = itertools.count(1)

    # -- locking -------------------------------------------------------------
    def lock(self, owner: LockOwner, ranges: list[Range],
             wait: Callable[[int], Waiter] | None = None) -> int | None:
        """Take every range or none (MS-SMB2 3.3.5.14.2).  On a conflict, a request that may
        wait gets an async id, ``wait(async_id)`` answers it as pending and makes its Waiter,
        and None is returned; the Waiter's answer comes later."""
        with self.mutex:
            status = self._take(owner, ranges)
            if status != STATUS_LOCK_NOT_GRANTED or wait is None:
                return status
            self._waiting.append(wait(next(self._async_ids)))
            return None

    def _take(self, owner: LockOwner, ranges: list[Range]) -> int:
        held = self._held.setdefault(owner.key, [])
        taken = 0
        status = STATUS_SUCCESS
        for wanted in ranges:
            if not wanted.valid:
                status = STATUS_INVALID_LOCK_RANGE
            elif any(_blocks(h, owner, wanted) for h in held):
                status = STATUS_LOCK_NOT_GRANTED
            else:
                held.append(_Held(owner, wanted))
                taken += 1
                continue
            break
        if status != STATUS_SUCCESS and taken:
            del held[-taken:]  # what this request took goes back
        if not held:
            del self._held[owner.key]
        return status

    def unlock(self, owner: LockOwner, ranges: list[Range | None]) -> int:
        """Release ranges in order, stopping at the first that fails: None (an element whose
        flags are not UNLOCK) fails as INVALID_PARAMETER, a range not held as
        RANGE_NOT_LOCKED; what was released before stays released (as Samba)."""
        with self.mutex:
            status = STATUS_SUCCESS
            released = False
            for wanted in ranges:
                if wanted is None:
                    status = STATUS_INVALID_PARAMETER
                    break
                if not self._remove_one(owner, wanted):
                    status = STATUS_RANGE_NOT_LOCKED
                    break
                released = True
            if released:
                self._wake(owner.key)
            return status

    def _remove_one(self, owner: LockOwner, wanted: Range) -> bool:
        held = self._held.get(owner.key, [])
        mine = [h for h in held if h.owner is owner
                and (h.range.offset, h.range.length) == (wanted.offset, wanted.length)]
        if not mine:
            return False
        exclusive = [h for h in mine if h.range.exclusive]
        held.remove((exclusive or mine)[0])
        if not held:
            del self._held[owner.key]
        return True

    def _wake(self, key: Key) -> None:
        """Grant, oldest first, each waiting request on this file that now fits."""
        for waiter in [w for w in self._waiting if w.owner.key == key]:
            if self._take(waiter.owner, [waiter.range]) == STATUS_SUCCESS:
                self._waiting.remove(waiter)
                waiter.answer(STATUS_SUCCESS)

    # -- ending ----------------------------------------------------------------
    def release_locks(self, owner: LockOwner) -> None:
        with self.mutex:
            held = self._held.get(owner.key, [])
            kept = [h for h in held if h.owner is not owner]
            if len(kept) == len(held):
                return
            if kept:
                self._held[owner.key] = kept
            else:
                del self._held[owner.key]
            self._wake(owner.key)

    def release_owner(self, owner: LockOwner) -> None:
        with self.mutex:
            # Samba answers a lock request pending on an open being closed RANGE_NOT_LOCKED.
            for waiter in [w for w in self._waiting if w.owner is owner]:
                self._waiting.remove(waiter)
                waiter.answer(STATUS_RANGE_NOT_LOCKED)
            self.release_locks(owner)

    def cancel(self, conn_id: str, message_id: int | None = None, async_id: int | None = None) -> bool:
        """SMB2 CANCEL of a waiting request of this connection, named by its AsyncId or,
        for a request not yet answered as pending, its MessageId (MS-SMB2 3.3.5.16)."""
        with self.mutex:
            for waiter in self._waiting:
                if waiter.conn_id != conn_id:
                    continue
                if (async_id is not None and waiter.async_id == async_id) or (
                        async_id is None and waiter.message_id == message_id):
                    self._waiting.remove(waiter)
                    waiter.answer(STATUS_CANCELLED)
                    return True
            return False

    # -- reads and writes --------------------------------------------------------
    def has_locks(self, key: Key) -> bool:
        return key in self._held  # a dict lookup: cheap enough for every READ and WRITE

    def io_conflict(self, key: Key, owner: LockOwner | None, offset: int, length: int, write: bool) -> bool:
        """Whether a READ or WRITE of this open runs into a lock (MS-FSA 2.1.4.10): another
        open's exclusive lock stops both; a shared lock, even the open's own, stops a write."""
        if length == 0:
            return False
        with self.mutex:
            for h in self._held.get(key, ()):
                if not h.range.overlaps(offset, length):
                    continue
                if h.range.exclusive and h.owner is not owner:
                    return True
                if write and not h.range.exclusive:
                    return True
            return False

    def waiting(self) -> int:
        with self.mutex:
            return len(self._waiting)

    def snapshot(self, key: Key) -> tuple[list[tuple[LockOwner, Range]], list[Waiter]]:
        """The locks held on a file and the requests waiting for it, oldest first."""
        with self.mutex:
            return ([(h.owner, h.range) for h in self._held.get(key, ())],
                    [w for w in self._waiting if w.owner.key == key])


def owner_of(table: LockTable, entry: dict) -> LockOwner | None:
    """The open's LockOwner, made now if it has none; None for an open outside the share-mode
    table (no file identity to lock on)."""
    owner = entry.get(OWNER_KEY)
    if owner is None:
        share_mode = entry.get("ShareMode")
        if share_mode is None:
            return None
        owner = entry[OWNER_KEY] = LockOwner(table, share_mode.key)
    return owner


def io_blocked(table: LockTable, entry: dict, offset: int, length: int, write: bool) -> bool:
    """Whether this open's READ (write False) or WRITE of the range meets a lock."""
    share_mode = entry.get("ShareMode")
    if share_mode is None or not table.has_locks(share_mode.key):
        return False
    return table.io_conflict(share_mode.key, entry.get(OWNER_KEY), offset, length, write)
