"""LOCK replay detection by LockSequence (MS-SMB2 3.3.5.14).

A client that may resend a LOCK on another channel after losing the first numbers it: the
low 4 bits of LockSequence are a value, the upper 28 a bucket (1 to 64; any other bucket
is not checked).  A LOCK whose value equals what its bucket last completed with is a replay
and succeeds without touching a lock, an unlock as much as a lock.  Samba 4.17 checks this on
durable opens (durable.py) and on every open of a connection that negotiated
SMB2_GLOBAL_CAP_MULTI_CHANNEL, the buckets living with the open, so every channel of the
session shares them.  SMB 2.0.2 has no LockSequence (the field is Reserved).
"""

from __future__ import annotations

from collections.abc import Callable

SEQUENCES_KEY = "LockSequences"  # in the open's entry: bucket -> value last completed
_BUCKETS = 64


class Sequence:
    """One LOCK request's bucket, when its replay is checked."""

    def __init__(self, buckets: dict[int, int], bucket: int, value: int) -> None:
        self._buckets, self._bucket, self._value = buckets, bucket, value

    @property
    def replayed(self) -> bool:
        return self._buckets.get(self._bucket) == self._value

    def begin(self) -> None:
        """A new request in this bucket: until it succeeds, nothing in it is a replay."""
        self._buckets.pop(self._bucket, None)

    def succeeded(self) -> None:
        self._buckets[self._bucket] = self._value


def checked(entry: dict, lock_sequence: int, verify: bool) -> Sequence | None:
    """The request's Sequence, None when its LockSequence is not looked at (``verify`` says
    whether the open's sequences are checked at all: durable, or multichannel negotiated)."""
    bucket = lock_sequence >> 4
    if not verify or not 1 <= bucket <= _BUCKETS:
        return None
    return Sequence(entry.setdefault(SEQUENCES_KEY, {}), bucket, lock_sequence & 0xF)


def on_success(sequence: Sequence | None) -> Callable[[int], None]:
    """A callback for the LOCK's final status that remembers the value once it succeeded."""
    def done(status: int) -> None:
        if sequence is not None and status == 0:
            sequence.succeeded()
    return done
