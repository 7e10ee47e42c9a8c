"""The infrastructure roles: seeded state that tenants change, and the bytes a backup reads.

A role's state is a version counter and an object count; its data is generated from
(seed, role, version), so any captured state can be produced again to check a restore
without keeping a copy. The data's real size follows the scale model (simulator/scale.py).
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
import weakref
from collections.abc import Iterator
from io import BytesIO
from json.encoder import encode_basestring_ascii as _json_str
from typing import Self

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ibs.engine.entries import END, STREAM_MAGIC, Entry, Kind, pack_entry
from ibs.engine.source import SourceItem

ROLES = ("Domain", "CA", "WAS", "CRP", "SRP", "NRP", "KeyVault", "RBAC", "ECE", "ACS")
#: Each role's share of a backup's size (sums to 1): the storage service and ARM dominate.
#: In whole percent, so a backup's data is split exactly (simulator/shape.py).
WEIGHTS = {"ACS": 30, "WAS": 15, "CRP": 10, "SRP": 10, "NRP": 8, "ECE": 8,
           "KeyVault": 7, "Domain": 5, "RBAC": 5, "CA": 2}
_MTIME_BASE_NS = 1_767_225_600 * 10**9  # 2026-01-01
_FILE = Kind.FILE  # a member looked up on its enum class costs as much as a small function call
_STREAM_END = END.pack(Kind.END, 4)  # a role's entry stream ends after its four entries


def _cipher(label: str):
    key = hashlib.sha256(label.encode()).digest()
    return Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()


def _keystream(label: str, n: int) -> bytes:
    """n incompressible bytes determined by ``label``: AES-CTR, ~10x faster than randbytes."""
    return _cipher(label).update(bytes(n))


_ZEROS = memoryview(bytes(64 * 1024))

#: A seed's pool of keystream, made once: a role's data is a slice of it behind a head that
#: names the snapshot. Copying a slice costs a tenth of making a keystream per snapshot (a
#: cipher set up per role and backup, then ~1 GB of AES-CTR per simulated year).
POOL_BYTES = 8 * 1024 * 1024
_HEAD = 32  # bytes of sha256(label) that open each role's data: no two snapshots' data agree


@functools.lru_cache(maxsize=4)
def _pool(seed: str) -> memoryview:
    return memoryview(_keystream(f"pool:{seed}", POOL_BYTES))


class _KeystreamReader(io.RawIOBase):
    """``_keystream(label, n)`` read piece by piece into the reader's buffers.

    CTR mode continues its counter across calls, so the pieces join into the same bytes.
    """

    def __init__(self, label: str, n: int) -> None:
        self._enc = _cipher(label)
        self._left = n

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self._left, len(_ZEROS))
        if n <= 0:
            return 0
        try:
            # Straight into the reader's buffer. The documented contract asks for block_size - 1
            # bytes of slack, which CTR never writes; a version that insists gets the copy.
            self._enc.update_into(_ZEROS[:n], memoryview(b)[:n])
        except ValueError:
            b[:n] = self._enc.update(_ZEROS[:n])
        self._left -= n
        return n


class _RoleDataReader:
    """A role state's data (``_StateData.split``) read into the reader's buffers, in as few
    copies as it takes. The engine's ``FileReader`` (readinto, a context): not an ``io``
    object, whose set-up, close and finaliser cost more than reading a small role."""

    __slots__ = ("_at", "_body", "_head")

    def __init__(self, data: _StateData, n: int) -> None:
        head, body = data.split(n)
        self._head = memoryview(head)
        self._body = body
        self._at = 0  # bytes of a pool slice already read

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        # Not isinstance(_KeystreamReader): an io class's check goes through its ABC.
        if not isinstance(self._body, memoryview):
            self._body.close()

    def readinto(self, b) -> int:
        # Straight into ``b`` (a bytearray or a memoryview: both take a slice), with no view
        # of it made: this runs once per chunk of every role.
        want = len(b)
        done = 0
        head = self._head
        if head:
            done = min(want, len(head))
            b[:done] = head[:done]
            self._head = head[done:]
            if done == want:
                return done
            want -= done
        body = self._body
        if isinstance(body, memoryview):
            at = self._at
            k = len(body) - at
            if k > want:  # noqa: PLR1730 - min() cost more than the rest of a chunk's read
                k = want
            b[done : done + k] = body[at : at + k]
            self._at = at + k
            return done + k
        return done + body.readinto(memoryview(b)[done:])


def _state_json(name: str, version: int, objects: int) -> bytes:
    # Spelt as ``json.dumps({"role": ..., "version": ..., "objects": ...}, sort_keys=True)``
    # spells it (tests/simulator/test_roles_stream.py), without an encoder for three fields.
    return f'{{"objects": {objects}, "role": {_json_str(name)}, "version": {version}}}\n'.encode()


def _mtime(version: int) -> int:
    """Every entry of a role's snapshot is stamped with its state's version: ns since the epoch."""
    return _MTIME_BASE_NS + version * 10**9


# Roles' versions advance together (tenants change each role as often), so most states'
# folders are another role's already: an entry and an item cost as much to make as the
# state's own parts.
@functools.lru_cache(maxsize=256)
def _folders(version: int) -> tuple[SourceItem, SourceItem]:
    """The items of a snapshot's two folders (the role's own and data/), stamped with its
    state's version."""
    mtime = _mtime(version)
    return (SourceItem(Entry(Kind.DIR, b"", 0o750, mtime, 0)),
            SourceItem(Entry(Kind.DIR, b"data", 0o750, mtime, 0)))


# Shared alike: the roles' state files differ in length only by their names' and numbers'
# digits, so 4 states in 10 find theirs made by another role at their version.
@functools.lru_cache(maxsize=256)
def _state_entry(version: int, size: int) -> Entry:
    """The entry of a snapshot's state.json, of ``size`` bytes."""
    return Entry(_FILE, b"state.json", 0o640, _mtime(version), size)


class _StateData:
    """What a role state's data bytes are made of. Apart from ``_StateParts``, which holds it,
    so that the opener of a snapshot's data file (kept in the parts' items) does not hold the
    parts: that cycle, some 4,600 a simulated year, was the only garbage the collector found in
    a run, and only it could free the parts."""

    __slots__ = ("head", "label", "place", "seed")

    def __init__(self, seed: str, label: str) -> None:
        self.seed = seed
        # What the snapshot's data is made from: every reader of it must agree.
        self.label = label
        # sha256(label) opens the data, so every snapshot's data differs from every other's
        # from its first byte; it also places the data's body in the seed's pool.
        self.head = head = hashlib.sha256(label.encode()).digest()
        self.place = int.from_bytes(head[:8], "big")

    def split(self, n: int) -> tuple[bytes, memoryview | _KeystreamReader]:
        """The state's ``n`` data bytes as (head, body): the body is a slice of the seed's pool
        placed by the head, or for a body over half the pool, a keystream of its own."""
        head = self.head
        if n <= _HEAD:
            return head[:n], memoryview(b"")
        rest = n - _HEAD
        if rest > POOL_BYTES // 2:
            return head, _KeystreamReader(self.label, rest)
        start = self.place % (POOL_BYTES - rest + 1)
        return head, _pool(self.seed)[start : start + rest]


class _StateParts:
    """What every snapshot of one role state shares, whatever its data's size: made once per
    state, in place of a cache per part (a year's backups snapshot some 7,000 roles, most in a
    state no backup saw before, and each is planned, sized by its tail and read)."""

    __slots__ = ("__weakref__", "_end", "_sized", "data", "folder", "mtime", "root",
                 "state_item", "state_json")

    def __init__(self, seed: str, name: str, version: int, objects: int) -> None:
        self.data = _StateData(seed, f"{seed}:{name}:{version}")
        self.mtime = _mtime(version)
        self.state_json = state = _state_json(name, version, objects)
        self.root, self.folder = _folders(version)
        self.state_item = SourceItem(_state_entry(version, len(state)),
                                     functools.partial(BytesIO, state))
        self._end: bytes | None = None
        # The last size read (data bytes, items): a role the tenants left alone is read alike
        # at the next backup, and its plan reads the snapshot it then backs up.
        self._sized: tuple[int, tuple[SourceItem, ...]] | None = None

    def stream_end(self) -> bytes:
        """What ends a snapshot's entry stream after its data: state.json's header and bytes,
        and the end marker. Made when first asked: a state file's entry may not pack (a
        version past the format's timestamps) where its bytes are still wanted."""
        end = self._end
        if end is None:
            end = self._end = pack_entry(self.state_item.entry) + self.state_json + _STREAM_END
        return end

    def items(self, data_bytes: int) -> tuple[SourceItem, ...]:
        """A snapshot's items, in the entry stream's order. Its data file opens as a raw
        reader (enter, readinto: the engine's FileReader), without a BufferedReader's extra
        copy of every chunk."""
        sized = self._sized
        if sized is not None and sized[0] == data_bytes:
            return sized[1]
        blob = SourceItem(Entry(_FILE, b"data/objects.bin", 0o640, self.mtime, data_bytes),
                          functools.partial(_RoleDataReader, self.data, data_bytes))
        items = (self.root, self.folder, blob, self.state_item)
        self._sized = (data_bytes, items)
        return items


# Kept: a backup's planning asks for each role's state, then snapshots it; a role the tenants
# left alone is snapshotted alike at the next backup.
@functools.lru_cache(maxsize=64)
def _parts(seed: str, name: str, version: int, objects: int) -> _StateParts:
    return _StateParts(seed, name, version, objects)


class RoleSnapshot:
    """One role's state at one moment: enough to regenerate its bytes exactly. Not to be
    changed once made (a plain class with slots: a frozen dataclass took four times as long
    to make, some 7,000 times a simulated year)."""

    __slots__ = ("_ref", "_total", "data_bytes", "name", "objects", "seed", "version")

    #: Keystream does not compress (engine/source.py): the engine spares it its zstd probes.
    incompressible = True
    #: The hub compresses a role's short last chunk to size the role (simulator/shape.py), and
    #: the backup then writes that very chunk (engine/source.py).
    short_chunks_repeat = True

    def __init__(self, seed: str, name: str, version: int, objects: int, data_bytes: int) -> None:
        self.seed = seed
        self.name = name
        self.version = version
        self.objects = objects
        self.data_bytes = data_bytes  # real bytes of data/objects.bin
        # Its state's parts, weakly: a snapshot may be kept long after its backup (the hub
        # once kept every one for its restores, and the parts they held, items, entries and
        # openers, were 60,000 objects a simulated year more for the garbage collector to walk
        # at every full collection). A snapshot whose parts have gone makes them again.
        parts = _parts(seed, name, version, objects)
        self._ref = weakref.ref(parts)
        # Its file bytes, asked by its plan and its backup: kept, not read through the parts.
        self._total = data_bytes + len(parts.state_json)

    @property
    def _parts(self) -> _StateParts:
        parts = self._ref()
        if parts is None:
            parts = _parts(self.seed, self.name, self.version, self.objects)
            self._ref = weakref.ref(parts)
        return parts

    def files(self) -> dict[str, bytes]:
        parts = self._parts
        head, body = parts.data.split(self.data_bytes)
        if isinstance(body, _KeystreamReader):
            body = memoryview(_keystream(parts.data.label, self.data_bytes - _HEAD))
        return {"state.json": parts.state_json, "data/objects.bin": head + bytes(body)}

    def items(self) -> Iterator[SourceItem]:
        """What a backup reads: the bytes of ``files``, the blob made as it is read."""
        return iter(self._parts.items(self.data_bytes))

    def total_bytes(self) -> int:
        return self._total

    def stream_tail(self, n: int) -> bytes:
        """The last ``n`` bytes of the entry stream a backup makes of this role (the engine's
        ``EntryStream``: magic, each entry's header then contents, the end marker)."""
        parts = self._parts
        after = parts.stream_end()
        if n <= len(after):
            return after[len(after) - n:]
        head, body = parts.data.split(self.data_bytes)
        if not isinstance(body, memoryview):
            body.close()
            body = memoryview(self.files()["data/objects.bin"])[len(head):]
        if n - len(after) <= len(body):  # within the data's body and what follows
            return b"".join((body[len(body) - (n - len(after)):], after))
        # The whole stream: the entries before the data (the state file's is in ``after``).
        root, folder, blob, _ = parts.items(self.data_bytes)
        return b"".join((STREAM_MAGIC, pack_entry(root.entry), pack_entry(folder.entry),
                         pack_entry(blob.entry), head, body, after))[-n:]

    def state_size(self) -> int:
        """Bytes of state.json: the part of the role's files that is not data."""
        return len(self._parts.state_json)


class RoleState:
    """A role whose objects tenants create and delete; its size grows with the hub."""

    def __init__(self, seed: str, name: str) -> None:
        self.seed = seed
        self.name = name
        self.version = 0
        self.objects = 100

    def change(self, rng: random.Random) -> None:
        self.version += 1
        # randint(-3, 10), which draws randrange(14) through two more calls (8,853 a year).
        self.objects = max(1, self.objects + rng.randrange(14) - 3)

    def state_size(self) -> int:
        """Bytes of state.json in a snapshot taken now (``RoleSnapshot.state_size``)."""
        return len(_parts(self.seed, self.name, self.version, self.objects).state_json)

    def snapshot(self, data_bytes: int) -> RoleSnapshot:
        """The role now, holding ``data_bytes`` real bytes of data (the hub sizes each backup's
        roles together: simulator/shape.py)."""
        return RoleSnapshot(self.seed, self.name, self.version, self.objects, max(1, data_bytes))
