"""Chunk records: how a role's byte stream is compressed, encrypted and framed on the share.

A role's plaintext stream is cut into chunks of exactly ``chunk_size`` bytes (the last one may
be shorter, and is flagged final). Each chunk is compressed with zstd unless that does not make
it smaller, then sealed with AES-256-GCM under the role's key. The 8-byte record header and the
chunk's context (backup id, role, index) are the authenticated data, so a flipped bit, a
truncated file, reordered chunks or a chunk moved from another role or backup all fail to open.
Layout and rules: docs/FORMAT.md, "Role data files".
"""

from __future__ import annotations

import struct
import threading
import uuid

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ibs.engine.errors import IntegrityError

HEADER = struct.Struct(">IBBH")  # stored length, codec, flags, reserved
HEADER_SIZE = HEADER.size
TAG_SIZE = 16
CODEC_STORED = 0
CODEC_ZSTD = 1
FLAG_FINAL = 0x01
MIN_CHUNK_SIZE = 4096
MAX_CHUNK_SIZE = 16 * 1024 * 1024
DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
ZSTD_LEVEL = 3
AAD_MAGIC = b"IBS1"

# Probing three 4 KiB slices before compressing a whole chunk saves ~1 s per GiB of
# incompressible data (zstd runs ~950 MB/s on random bytes, for nothing).
_PROBE = 4 * 1024
#: Chunks up to this long are compressed without probing (and kept compressed if that wins).
ALWAYS_TRIED = 3 * _PROBE


_NONCE_HEAD = b"\x00\x00\x00\x00"  # a record's nonce: these, then its index (8 bytes, big-endian)


def nonce(index: int) -> bytes:
    return _NONCE_HEAD + index.to_bytes(8, "big")


def aad(backup_id: uuid.UUID, role: str, index: int, header: bytes) -> bytes:
    return _aad_head(backup_id, role) + index.to_bytes(8, "big") + header


def _aad_head(backup_id: uuid.UUID, role: str) -> bytes:
    """``aad``'s bytes before the index: the same for every chunk of a role."""
    name = role.encode("ascii")
    return AAD_MAGIC + backup_id.bytes + len(name).to_bytes(2, "big") + name


def max_record_size(chunk_size: int) -> int:
    return HEADER_SIZE + chunk_size + TAG_SIZE


_local = threading.local()


def _compressors() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdCompressor]:
    """The (chunk, probe) compressors of the thread that creates sealers.

    Making them costs ~60 us, more than sealing a small chunk. A compressor must not be used
    by two threads at once: a thread's sealers seal one role after another (each role's
    pipeline has finished before the next role's starts), so sharing them is safe.
    """
    pair = getattr(_local, "pair", None)
    if pair is None:
        pair = _local.pair = (zstandard.ZstdCompressor(level=ZSTD_LEVEL),
                              zstandard.ZstdCompressor(level=1))
    return pair


#: Short chunks' zstd outputs a thread keeps for sealers told to remember them, at most.
SHORT_KEPT = 64


def _short_payloads() -> dict[tuple[int, bytes, bytes], tuple[bytes, bytes]]:
    """The thread's zstd outputs of short chunks, oldest first: (chunk, output) by the chunk's
    length and first and last bytes (``ChunkSealer._remembered``).

    zstd at one level makes one output of one input, so a payload found here is the one
    compressing would make: a sealer that meets a short chunk again (a simulated hub seals
    each role's last chunk to size the role, then writes it, and writes an unchanged role's
    again at the next backup) is spared the compression. The thread's, as its compressors are.
    """
    found = getattr(_local, "short", None)
    if found is None:
        found = _local.short = {}
    return found


class ChunkSealer:
    """Seals the chunks of one role, in order. Not thread-safe: one per role per thread."""

    def __init__(self, key: bytes, backup_id: uuid.UUID, role: str, compress: bool = True,
                 incompressible: bool = False, remember_short: bool = False) -> None:
        self.backup_id = backup_id
        self.role = role
        self.compress = compress
        # The source vouches that its data does not compress: a chunk long enough to be probed
        # is stored as is, as its probes would have found. Short chunks are still tried (their
        # entry headers may compress), so the bytes are the same with or without the hint.
        self.incompressible = incompressible
        # A chunk too long to be always tried is then stored as it is, known without probing.
        self._stores_long = incompressible or not compress
        self._aead = AESGCM(key)
        self._zstd, self._probe = _compressors()
        # Where the source says its short chunks repeat: the memo only costs where they do not.
        self._short = _short_payloads() if remember_short else None
        self._aad_head: bytes | None = None

    def _worth_compressing(self, data: memoryview) -> bool:
        n = len(data)
        if n <= ALWAYS_TRIED:
            return True
        if self.incompressible:
            return False
        for start in (0, n // 2, n - _PROBE):
            sample = data[start : start + _PROBE]
            if len(self._probe.compress(sample)) < _PROBE * 0.9:
                return True
        return False

    def payload(self, data: memoryview) -> tuple[memoryview | bytes, int]:
        """What a record of ``data`` encrypts, and its codec: the chunk compressed where that
        is tried and makes it smaller, else the chunk as it is."""
        n = len(data)
        if n > ALWAYS_TRIED and self._stores_long:  # most of a simulated year's chunks
            return data, CODEC_STORED
        if not (self.compress and n):
            return data, CODEC_STORED
        if n <= ALWAYS_TRIED and self._short is not None:
            packed = self._remembered(bytes(data))
        elif self._worth_compressing(data):
            packed = self._zstd.compress(data)
        else:
            return data, CODEC_STORED
        if len(packed) < n:
            return packed, CODEC_ZSTD
        return data, CODEC_STORED

    def _remembered(self, plain: bytes) -> bytes:
        """zstd's output for the short chunk ``plain``, from the thread's memo if there."""
        short = self._short
        assert short is not None
        # Found by its length and ends, then compared whole: hashing all of a chunk cost half
        # what compressing it does.
        key = (len(plain), plain[:32], plain[-32:])
        found = short.get(key)
        if found is not None and found[0] == plain:
            return found[1]
        packed = self._zstd.compress(plain)
        short[key] = (plain, packed)
        if len(short) > SHORT_KEPT:
            del short[next(iter(short))]
        return packed

    def seal_into(self, index: int, data: memoryview, final: bool, out: bytearray) -> int:
        """Write the record for chunk ``index`` into ``out``; return its length."""
        payload, codec = self.payload(data)
        stored = len(payload) + TAG_SIZE
        header = HEADER.pack(stored, codec, FLAG_FINAL if final else 0, 0)
        out[:HEADER_SIZE] = header
        head = self._aad_head
        if head is None:
            head = self._aad_head = _aad_head(self.backup_id, self.role)
        counter = index.to_bytes(8, "big")
        self._aead.encrypt_into(
            _NONCE_HEAD + counter, payload, head + counter + header,
            memoryview(out)[HEADER_SIZE : HEADER_SIZE + stored],
        )
        return HEADER_SIZE + stored


class ChunkOpener:
    """Opens the chunk records of one role, checking order, framing and the final flag."""

    def __init__(self, key: bytes, backup_id: uuid.UUID, role: str, chunk_size: int) -> None:
        self.backup_id = backup_id
        self.role = role
        self.chunk_size = chunk_size
        self._aead = AESGCM(key)
        self._zstd = zstandard.ZstdDecompressor()

    def parse_header(self, header: bytes, index: int) -> tuple[int, int, bool]:
        stored, codec, flags, reserved = HEADER.unpack(header)
        if codec not in (CODEC_STORED, CODEC_ZSTD) or flags & ~FLAG_FINAL or reserved:
            raise IntegrityError(f"role {self.role}: chunk {index} has a corrupt header")
        if not TAG_SIZE <= stored <= self.chunk_size + TAG_SIZE:
            raise IntegrityError(f"role {self.role}: chunk {index} has an impossible length {stored}")
        return stored, codec, bool(flags & FLAG_FINAL)

    def open(self, index: int, header: bytes, sealed: memoryview, codec: int, final: bool,
             out: bytearray) -> memoryview:
        """Authenticate and decrypt one record; return the chunk's plaintext."""
        plain_len = len(sealed) - TAG_SIZE
        target = memoryview(out)[:plain_len]
        try:
            self._aead.decrypt_into(
                nonce(index), sealed, aad(self.backup_id, self.role, index, header), target
            )
        except InvalidTag:
            raise IntegrityError(
                f"role {self.role}: chunk {index} does not authenticate (altered, reordered, "
                "truncated, or from another role or backup)"
            ) from None
        if codec == CODEC_ZSTD:
            try:
                # Exactly one zstd frame: no skippable frame, no second frame, no trailing bytes.
                plain = memoryview(self._zstd.decompress(target, max_output_size=self.chunk_size,
                                                         allow_extra_data=False))
            except zstandard.ZstdError:
                raise IntegrityError(
                    f"role {self.role}: chunk {index} does not decompress (not exactly one zstd frame)"
                ) from None
        else:
            plain = target
        # Every chunk holds 1..chunk_size bytes, and all but the final one exactly chunk_size:
        # so a stream has one chunking only (no empty final chunk after a full one).
        if not 0 < len(plain) <= self.chunk_size or (not final and len(plain) != self.chunk_size):
            raise IntegrityError(f"role {self.role}: chunk {index} has the wrong size")
        return plain
