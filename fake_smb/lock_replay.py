"""Lock sequence verification (MS-SMB2 3.3.5.14) on durable opens, as smbd 4.17 does it.

A client that lost a LOCK's response cannot tell whether it was carried out, so it sends
it again, with the same LockSequence: its low 4 bits a number, the rest an index of one
of 64 buckets.  For a durable open (durable.py; smbd also with multichannel, which fake_smb
does not offer) a LOCK whose index is 1..64 and whose number is the one its bucket last
succeeded with is a replay: it succeeds and does nothing, an unlock as much as a lock.  Any
other LOCK in a valid bucket first forgets the bucket's number and, if it succeeds, leaves
its own there.  Index 0 and those past 64 are not checked; SMB 2.0.2 has no LockSequence.
"""

from __future__ import annotations

from collections.abc import Callable

from impacket.nt_errors import STATUS_SUCCESS

from ibs.fake_smb.durable import DURABLE_KEY

SEQUENCES_KEY = "LockSequences"  # on an open: the number each bucket last succeeded with
_BUCKETS = 64
_NONE = 0xFF  # no number is 0xFF: a bucket holding it matches nothing


def _forget(status: int) -> None:
    return None


def check(entry: dict, lock_sequence: int) -> tuple[bool, Callable[[int], None]]:
    """(is this LOCK a replay, what to call with its final status)."""
    bucket, number = lock_sequence >> 4, lock_sequence & 0xF
    if not entry.get(DURABLE_KEY) or not 1 <= bucket <= _BUCKETS:
        return False, _forget
    buckets = entry.setdefault(SEQUENCES_KEY, [_NONE] * _BUCKETS)
    if buckets[bucket - 1] == number:
        return True, _forget
    buckets[bucket - 1] = _NONE

    def remember(status: int) -> None:
        if status == STATUS_SUCCESS:
            buckets[bucket - 1] = number

    return False, remember
