"""A sealed chunk is exactly the record docs/FORMAT.md describes, whatever the sealer caches.

The sealer keeps the part of each chunk's authenticated data that does not change; a record
sealed under other authenticated data would not open in any other reader of the format.
"""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from ibs.engine.chunks import (
    HEADER,
    HEADER_SIZE,
    ChunkOpener,
    ChunkSealer,
    aad,
    max_record_size,
    nonce,
)

CHUNK = 4096


@given(key=st.binary(min_size=32, max_size=32), backup=st.integers(0, 2**128 - 1),
       role=st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,20}", fullmatch=True),
       pieces=st.lists(st.tuples(st.integers(0, 2**40), st.binary(min_size=1, max_size=CHUNK)),
                       min_size=1, max_size=4))
def test_each_record_is_the_formats_record(key, backup, role, pieces):
    # Chunks hold 1..CHUNK bytes (FORMAT.md: an empty chunk is never written, nor read).
    backup_id = uuid.UUID(int=backup)
    sealer = ChunkSealer(key, backup_id, role)
    opener = ChunkOpener(key, backup_id, role, CHUNK)
    for index, data in pieces:
        out = bytearray(max_record_size(CHUNK))
        n = sealer.seal_into(index, memoryview(data), True, out)
        header = bytes(out[:HEADER_SIZE])
        stored, codec, _flags, _ = HEADER.unpack(header)
        sealed = bytes(out[HEADER_SIZE:n])
        # Opened by the format's own definition of the authenticated data, not the sealer's.
        payload = AESGCM(key).decrypt(nonce(index), sealed, aad(backup_id, role, index, header))
        assert len(sealed) == stored
        got = opener.open(index, header, memoryview(sealed), codec, True, bytearray(CHUNK + 64))
        assert bytes(got) == data and (codec == 1 or payload == data)


class _CountingProbe:
    def __init__(self, real) -> None:
        self.real, self.calls = real, 0

    def compress(self, data):
        self.calls += 1
        return self.real.compress(data)


def test_a_source_vouching_for_incompressible_data_spares_long_chunks_the_probes():
    # The hint skips the zstd probes of a chunk long enough to be probed, and only those; the
    # record is the one the probes would have led to.
    import os

    key, backup_id = bytes(32), uuid.UUID(int=1)
    data = memoryview(os.urandom(3 * 4096 + 1))
    records = []
    for hint in (False, True):
        sealer = ChunkSealer(key, backup_id, "ACS", incompressible=hint)
        probe = sealer._probe = _CountingProbe(sealer._probe)
        out = bytearray(max_record_size(len(data)))
        records.append(bytes(out[:sealer.seal_into(0, data, True, out)]))
        assert probe.calls == (0 if hint else 3)
    assert records[0] == records[1]




@given(seed=st.integers(0, 2**32), tail=st.integers(1, 150), index=st.integers(0, 99))
def test_the_incompressible_hint_seals_a_simulated_last_chunk_as_without_it(seed, tail, index):
    # A simulated role's last chunk: keystream, then its state's entry header and JSON (some
    # 100 bytes that compress). Up to ALWAYS_TRIED bytes the hint changes nothing (zstd is
    # tried); beyond, the probes it skips would have found the keystream. A sweep of lengths
    # across the boundary, each example another keystream and tail.
    import hashlib

    from ibs.engine.chunks import ALWAYS_TRIED

    json = (b'{"objects": 100, "role": "ACS", "version": 7}\n' * 4)[:tail]
    for length in [*range(tail, ALWAYS_TRIED + 2048, 1531), ALWAYS_TRIED, ALWAYS_TRIED + 1]:
        stream = (hashlib.shake_256(b"%d" % seed).digest(length) + json)[-length:]
        records = []
        for hint in (False, True):
            sealer = ChunkSealer(bytes(32), uuid.UUID(int=3), "ACS", incompressible=hint)
            out = bytearray(max_record_size(len(stream)))
            records.append(bytes(out[:sealer.seal_into(index, memoryview(stream), True, out)]))
        assert records[0] == records[1], length


# Short chunks that recur, and others of the same length that differ only after their start,
# or only in their middle: a memo that looked at less than the whole chunk would hand one of
# them another's payload.
_shared_start = b'{"objects": 100, "role": "ACS", "version": 7}\n' * 8
_short_chunks = st.one_of(
    st.tuples(st.integers(0, 3), st.integers(1, 4096 * 3)).map(
        lambda pick: (_shared_start + b"%d" % pick[0] * pick[1])[:pick[1]]),
    st.tuples(st.integers(0, 3), st.integers(1, 4096 * 3)).map(
        lambda pick: _with_middle((_shared_start * 40)[:pick[1]], pick[0])))


def _with_middle(chunk: bytes, byte: int) -> bytes:
    middle = len(chunk) // 2
    return chunk[:middle] + bytes([byte]) + chunk[middle + 1:]


@given(chunks=st.lists(_short_chunks, min_size=1, max_size=12),
       role=st.sampled_from(["ACS", "CA"]), index=st.integers(0, 9))
def test_a_sealer_that_remembers_short_chunks_seals_as_one_that_does_not(chunks, role, index):
    # Each record from a sealer that remembers what short chunks compressed to (across
    # sealers, as a simulated hub's sizer and writer share it) is the one a fresh sealer makes.
    backup_id = uuid.UUID(int=5)
    for data in chunks + chunks[::-1]:
        records = []
        for remember in (True, False):
            sealer = ChunkSealer(bytes(32), backup_id, role, remember_short=remember)
            out = bytearray(max_record_size(len(data)))
            records.append(bytes(out[:sealer.seal_into(index, memoryview(data), True, out)]))
        assert records[0] == records[1], len(data)


@given(length=st.integers(-3, 3), compressible=st.booleans(), hint=st.booleans(),
       compress=st.booleans(), final=st.booleans(), index=st.integers(0, 2**40))
def test_a_record_seals_what_payload_chooses(length, compressible, hint, compress, final, index):
    # payload stores a long chunk of a source vouched incompressible (or of a sealer that does
    # not compress) without probing it, and still tries every short chunk: on both sides of the
    # length where chunks stop being always tried, the codec is the rule's, and the record is
    # the one payload's choice makes.
    import hashlib

    from ibs.engine.chunks import ALWAYS_TRIED, CODEC_STORED, CODEC_ZSTD, FLAG_FINAL, TAG_SIZE

    n = ALWAYS_TRIED + length
    data = memoryview(bytes(n) if compressible else hashlib.shake_256(b"%d" % index).digest(n))
    key, backup_id = bytes(range(32)), uuid.UUID(int=5)
    sealer = ChunkSealer(key, backup_id, "ACS", compress=compress, incompressible=hint)
    out = bytearray(max_record_size(n))
    record = bytes(out[:sealer.seal_into(index, data, final, out)])
    payload, codec = sealer.payload(data)
    tried = compress and (n <= ALWAYS_TRIED or not hint)
    assert codec == (CODEC_ZSTD if tried and compressible else CODEC_STORED)
    header = HEADER.pack(len(payload) + TAG_SIZE, codec, FLAG_FINAL if final else 0, 0)
    sealed = AESGCM(key).encrypt(nonce(index), bytes(payload),
                                 aad(backup_id, "ACS", index, header))
    assert record == header + sealed
