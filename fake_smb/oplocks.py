"""Oplocks: the server-wide table of who may cache what, and when that must be broken.

An oplock lets one client cache a file: LEVEL_II its reads, EXCLUSIVE its writes too, BATCH
also its handle (it may keep the file open after the application closed it).  The promise
holds only while no other open could see the cache go stale, so every open, write or
truncation of the file by anyone else first *breaks* the oplocks that stand in its way:
the holder is told (an OPLOCK_BREAK notification, oplock_wire.py) and, when it may hold
unwritten data (EXCLUSIVE or BATCH), the new open waits until the holder acknowledges,
closes the file, or the break times out.

The rules are Samba 4.17's (smbd open.c delay_for_oplock / grant_fsp_oplock_type), written
in its terms of caching rights: R(ead), W(rite), H(andle).  This module only decides and
records; sending and waiting are oplock_wire.py's.  Every method is called under the share
mode table's lock (share_modes.OpenTable.lock), which the table shares, so a decision and
the open it guards are one step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

# SMB2 oplock levels (MS-SMB2 2.2.13 RequestedOplockLevel)
LEVEL_NONE = 0x00
LEVEL_II = 0x01
LEVEL_EXCLUSIVE = 0x08
LEVEL_BATCH = 0x09
LEVEL_LEASE = 0xFF

_R, _W, _H = 1, 2, 4
_RIGHTS = {LEVEL_NONE: 0, LEVEL_II: _R, LEVEL_EXCLUSIVE: _R | _W, LEVEL_BATCH: _R | _W | _H}

OPLOCK_KEY = "Oplock"  # impacket's open dict -> its Oplock record

# An open asking only for these rights is a "stat open": it breaks no oplock unless it
# overwrites the file, and does not count as another open when one is granted (Samba
# is_oplock_stat_open).
FILE_READ_ATTRIBUTES = 0x00000080
FILE_WRITE_ATTRIBUTES = 0x00000100
SYNCHRONIZE = 0x00100000
_STAT_RIGHTS = FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE


def is_stat_open(desired_access: int) -> bool:
    return desired_access & ~_STAT_RIGHTS == 0


def _level_for(rights: int) -> int:
    """An oplock can only be BATCH, EXCLUSIVE, LEVEL_II or none."""
    if rights & _W:
        return LEVEL_BATCH if rights & _H else LEVEL_EXCLUSIVE
    return LEVEL_II if rights & _R else LEVEL_NONE


@dataclass(eq=False)
class Oplock:
    """One open's oplock.  ``notify(level)`` tells the holder its oplock is broken to level."""

    table: OplockTable
    key: tuple
    level: int
    stat_open: bool
    notify: Callable[[int], None] | None = field(default=None, repr=False)
    #: The level a break was sent for, until the holder acknowledges it (or it times out).
    breaking_to: int | None = None
    #: Ends a break the holder does not answer (oplock_wire.py starts it).
    timer: threading.Timer | None = field(default=None, repr=False)

    def release(self) -> None:
        self.table.release(self)


@dataclass(eq=False)
class Deferred:
    """An open held back until the breaks it waits on are acknowledged (or time out)."""

    waiting_on: set = field(default_factory=set)
    resume: Callable[[], None] | None = field(default=None, repr=False)


@dataclass
class Break:
    """A break notification to send once the table's lock is released."""

    oplock: Oplock
    level: int


class OplockTable:
    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self._holders: dict[tuple, list[Oplock]] = {}
        self._deferred: list[Deferred] = []

    def holders(self, key: tuple) -> list[Oplock]:
        with self.lock:
            return list(self._holders.get(key, ()))

    # -- a new open ------------------------------------------------------------
    def breaks_for_open(self, key: tuple, desired_access: int, sharing_violation: bool,
                        will_overwrite: bool) -> tuple[list[Break], set[Oplock]]:
        """What an open of the file ``key`` must break first, and which of those breaks it
        must wait for.  A sharing violation is only worth waiting on when a BATCH holder
        might close its cached handle; otherwise a writer-to-be waits for cached writes."""
        if is_stat_open(desired_access) and not will_overwrite:
            return [], set()
        delay_rights = _H if sharing_violation else _W
        breaks: list[Break] = []
        waits: set[Oplock] = set()
        with self.lock:
            for held in self._holders.get(key, ()):
                rights = _RIGHTS[held.level]
                keep = rights & ~delay_rights
                if will_overwrite:
                    keep &= ~(_H | _R)  # the cached contents are about to go
                if rights & ~keep == 0:
                    continue
                if rights & delay_rights:
                    waits.add(held)
                if held.breaking_to is not None:
                    continue  # told already; the new open waits like the first did
                level = LEVEL_II if keep & _R and not will_overwrite else LEVEL_NONE
                breaks.append(self._break(held, level))
        return breaks, waits

    def breaks_for_write(self, key: tuple) -> list[Break]:
        """A write or truncation: every LEVEL_II cache of the file is stale, the writer's own
        too (smbd tells it as well), and is broken to none without waiting (a LEVEL_II
        holder has nothing to write back)."""
        with self.lock:
            return [self._break(held, LEVEL_NONE) for held in self._holders.get(key, ())
                    if held.level == LEVEL_II]

    def _break(self, held: Oplock, level: int) -> Break:
        if held.level == LEVEL_II:
            # Nothing to write back, so no acknowledgment comes (MS-SMB2 3.3.4.6).
            held.level = LEVEL_NONE
        else:
            held.breaking_to = level
        return Break(held, level)

    def grant(self, key: tuple, requested: int, desired_access: int, is_dir: bool,
              notify: Callable[[int], None] | None) -> Oplock:
        """Record the new open's oplock: what it asked for, less what other opens of the file
        rule out (the table must already count those; the new open is not in it yet)."""
        rights = _RIGHTS.get(requested, 0)  # a lease request is answered without one
        if is_dir:
            rights = 0  # Samba grants none on directories
        with self.lock:
            others = self._holders.get(key, [])
            if any(_RIGHTS[o.level] & _W for o in others):
                rights = 0  # a stat open beside a write cache it did not break: no cache at all
            if any(not o.stat_open or o.level != LEVEL_NONE for o in others):
                rights &= ~_W  # another open, or another cache, could see a write-cache go stale
            if any(_RIGHTS[o.level] & _H for o in others):
                rights &= ~_H
            oplock = Oplock(self, key, _level_for(rights), is_stat_open(desired_access), notify)
            self._holders.setdefault(key, []).append(oplock)
            return oplock

    # -- the holder's side -------------------------------------------------------
    def acknowledge(self, held: Oplock, level: int) -> int | None:
        """The holder acknowledges a break with ``level``: its new level, or None when no
        break is outstanding.  As in Samba, an acknowledgment that keeps more than the break
        left it (LEVEL_II after a break to none) is taken as the break's level."""
        with self.lock:
            if held.breaking_to is None:
                return None
            new = LEVEL_NONE if LEVEL_NONE in (held.breaking_to, level) else LEVEL_II
            held.level, held.breaking_to = new, None
            resumed = self._settled(held)
        _run(resumed)
        return new

    def time_out(self, held: Oplock) -> None:
        """The holder did not answer in time: its oplock is gone (Samba's 'replying
        anyway'), and the opens waiting for it go ahead."""
        with self.lock:
            if held.breaking_to is None:
                return
            held.level, held.breaking_to = LEVEL_NONE, None
            resumed = self._settled(held)
        _run(resumed)

    def release(self, held: Oplock) -> None:
        """The open is closed, by CLOSE or with its tree, session or connection."""
        with self.lock:
            opens = self._holders.get(held.key, [])
            if held in opens:
                opens.remove(held)
            if not opens:
                self._holders.pop(held.key, None)
            held.level, held.breaking_to = LEVEL_NONE, None
            resumed = self._settled(held)
        _run(resumed)

    # -- waiting opens -------------------------------------------------------------
    def defer(self, waits: set[Oplock], resume: Callable[[], None]) -> Deferred:
        with self.lock:
            deferred = Deferred(set(waits), resume)
            self._deferred.append(deferred)
            return deferred

    def _settled(self, held: Oplock) -> list[Callable[[], None]]:
        if held.timer is not None:
            held.timer.cancel()
            held.timer = None
        ready = []
        for deferred in list(self._deferred):
            deferred.waiting_on.discard(held)
            if not deferred.waiting_on:
                self._deferred.remove(deferred)
                ready.append(deferred.resume)
        return ready

    def pending(self) -> int:
        with self.lock:
            return len(self._deferred)


def _run(resumed: list) -> None:
    # Outside the lock: a resumed open takes it again, and answers on the network.
    for resume in resumed:
        if resume is not None:
            resume()
