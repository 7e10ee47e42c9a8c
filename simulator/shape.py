"""How much role data a simulated backup holds, so that the whole backup is its modelled size.

A backup on the share is one data file per role plus a manifest. A role's file is its entry
stream (a few fixed-size entry headers, its files' bytes) cut into chunks, each stored with a
record header and an authentication tag; the manifest is JSON whose only variable part is the
digits of each role's numbers. The hub picks each role's data bytes so that the real bytes
stored are exactly ``scale.to_real(modelled size)``: times the scale, the backup is its
modelled size to within one real byte, at any scale. The manifest's fixed text is learnt from
the hub's calibration backup; a short last chunk, which the engine tries to compress, is sealed
by the engine's own sealer to see what it will store (simulator/roles.py makes its bytes).
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ibs.engine import chunks


@dataclass(frozen=True)
class Framing:
    """What a backup stores beyond its roles' file contents, per role and per backup."""

    chunk_size: int
    entry_bytes: int  # a role's entry stream beyond its files' contents (headers, paths, end)
    fixed: int  # manifest bytes beyond the digits of the role numbers it records
    chunk_bytes: int = chunks.HEADER_SIZE + chunks.TAG_SIZE  # per chunk record

    @classmethod
    def of(cls, chunk_size: int, manifest_bytes: int, records) -> Framing:
        """The framing of a backup written with ``chunk_size``, from its manifest's length and
        its role records (engine/manifest.py ``RoleRecord``)."""
        digits = sum(_digits(r.plaintextBytes, r.storedBytes, r.chunks, r.fileBytes) for r in records)
        return cls(chunk_size, entry_bytes=records[0].plaintextBytes - records[0].fileBytes,
                   fixed=manifest_bytes - digits)


def _digits(*numbers: int) -> int:
    # One formatting of them all: a plan sizes a backup some 40 times, four numbers a role.
    return len("%d" * len(numbers) % numbers)


def size(framing: Framing, data: dict[str, int], state: dict[str, int],
         savings: dict[str, int] | None = None) -> int:
    """Real bytes a backup stores whose roles hold ``data`` bytes of data and ``state`` bytes
    of state file each, each role's file ``savings`` bytes shorter than its chunks' full length
    (a compressed last chunk; none by default)."""
    total = framing.fixed
    per_chunk, chunk_size, entry_bytes = framing.chunk_bytes, framing.chunk_size, framing.entry_bytes
    # The manifest's numbers for each role: plaintextBytes, storedBytes, chunks, fileBytes.
    numbers: list[int] = []
    for name, d in data.items():
        file_bytes = d + state[name]
        plain = file_bytes + entry_bytes
        count = -(-plain // chunk_size)
        stored = plain + per_chunk * count - (savings[name] if savings else 0)
        total += stored
        numbers += (plain, stored, count, file_bytes)
    return total + _digits(*numbers)


def plain_bytes(framing: Framing, data: dict[str, int], state: dict[str, int]) -> int:
    """The entry-stream bytes of all roles: what the engine's progress counts to."""
    return sum(d + state[name] + framing.entry_bytes for name, d in data.items())


def apportion(total: int, weights: dict[str, int]) -> dict[str, int]:
    """``total`` split in proportion to integer ``weights``, summing to exactly ``total``
    (largest remainder; ties to the heavier, then the earlier name)."""
    whole = sum(weights.values())
    shares = {name: total * w // whole for name, w in weights.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(weights, key=lambda n: (-(total * weights[n] % whole), -weights[n], n))
    for name in by_remainder[:left]:
        shares[name] += 1
    return shares


#: Bytes a role stores less than ``size`` says, given its data bytes: its last chunk, when short
#: enough for the engine to try zstd, may compress (its entry headers and state do).
Saving = Callable[[str, int], int]


def plan(target: int, framing: Framing, state: dict[str, int], weights: dict[str, int],
         saving: Saving = lambda name, data: 0) -> dict[str, int]:
    """Each role's data bytes (at least 1) for a backup of ``target`` real bytes in all.

    The stored size climbs by one byte per data byte, except where a role's stream crosses a
    chunk boundary (a record header and tag more), a number gains a digit, or a short last
    chunk compresses. So: apportion by the model without compression, correcting by what is
    missing; then ask each role what compression saves, and put that (and whatever a boundary
    left) on one role. Should no role land it in a few rounds, the plan without that last step
    stands: under the target by what compression saves, never over it. A target too small for
    the framing gets one byte per role, and comes out over it.
    """
    found, last = _uncompressed_plan(target, framing, tuple(state.items()),
                                     tuple(weights.items()))
    if found is None:  # too small a target: the last try, about one byte per role
        return dict(last)
    pairs, uncompressed = found
    data = dict(pairs)
    savings = {name: saving(name, d) for name, d in pairs}
    # Where no last chunk compresses, the search's size stands: formatting every number of the
    # manifest again cost two thirds of a plan.
    if (size(framing, data, state, savings) if any(savings.values()) else uncompressed) == target:
        return data  # most plans: a role whose last chunk is long took what compression saves
    order = sorted(weights, key=lambda k: (savings[k] != 0, -weights[k], k))
    # A role whose last chunk is long takes the rest at once; where every last chunk is short
    # (a small backup), the role that took it may compress differently: a few rounds settle it.
    for _ in range(8):
        got = size(framing, data, state, savings)
        if got == target:
            return data
        best: tuple[int, str, int, int] | None = None  # (distance, role, its bytes, saving)
        for name in order:
            d = max(1, data[name] + target - got)
            new_saving = saving(name, d)
            trial = size(framing, {**data, name: d}, state, {**savings, name: new_saving})
            if trial == target:
                return {**data, name: d}
            if best is None or abs(target - trial) < best[0]:
                best = (abs(target - trial), name, d, new_saving)
        assert best is not None  # there is a role
        _, name, data[name], savings[name] = best
    return dict(pairs)  # under the target by what compression saves: never over it


_Pairs = tuple[tuple[str, int], ...]


# A hub's plans repeat their inputs (a year of 729 backups has a few dozen distinct targets
# and state lengths): the search without compression is kept for each.
@functools.lru_cache(maxsize=256)
def _uncompressed_plan(target: int, framing: Framing, state_items: tuple[tuple[str, int], ...],
                       weight_items: tuple[tuple[str, int], ...]
                       ) -> tuple[tuple[_Pairs, int] | None, _Pairs]:
    """``plan``'s first step: the data bytes by role, as (role, bytes) pairs, whose backup
    without compression comes nearest ``target`` from below, with that backup's size (None if
    none is at or below it), and those of the search's last try."""
    state, weights = dict(state_items), dict(weight_items)
    n = len(weights)
    data_total = max(n, target - size(framing, dict.fromkeys(weights, 0), state))
    below: tuple[int, dict[str, int]] | None = None
    data = dict.fromkeys(weights, 1)
    for _ in range(6):
        data = {k: max(1, v) for k, v in apportion(data_total, weights).items()}
        got = size(framing, data, state)
        if got <= target and (below is None or got > below[0]):
            below = (got, data)
        if got == target or (data_total == n and got > target):
            break
        data_total = max(n, data_total + target - got)
    return (None if below is None else (tuple(below[1].items()), below[0])), tuple(data.items())


def last_chunk_saving(snapshot, chunk_size: int, entry_bytes: int) -> int:
    """What compression takes off a simulated role's stored bytes (simulator/roles.py
    ``RoleSnapshot``): its last chunk, sealed by the engine's own sealer, if short enough to be
    tried. Only the last chunk can be short; the others are stored as they are, so
    ``chunk_size`` must exceed ``chunks.ALWAYS_TRIED`` (simulator/scale.py's does)."""
    plain = snapshot.total_bytes() + entry_bytes
    last = plain - (-(-plain // chunk_size) - 1) * chunk_size
    if last > chunks.ALWAYS_TRIED:
        return 0
    # The record's length is its header, its payload and its tag: the payload is all that
    # can differ from the chunk's length, and the engine's sealer chooses it.
    payload, _ = _sizer().payload(memoryview(snapshot.stream_tail(last)))
    return last - len(payload)


_local = threading.local()


def _sizer() -> chunks.ChunkSealer:
    # Only its codec choice is used, never its key: one serves every role and backup of a
    # thread (its compressors are that thread's, engine/chunks.py).
    sizer = getattr(_local, "sizer", None)
    if sizer is None:
        sizer = _local.sizer = chunks.ChunkSealer(bytes(32), uuid.UUID(int=0), "sizer",
                                                  incompressible=True, remember_short=True)
    return sizer
