"""Reading a backup back: the manifest, the key, and each role's entry events, all checked.

Everything read is authenticated before it is used, and every figure the manifest states
(chunks, stream length, stored length, SHA-256 of the file, entry count) is checked against
what was read, so truncation or an extra chunk cannot pass unnoticed.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ibs.engine import chunks, keys, layout, pipeline
from ibs.engine.certs import DecryptionKey
from ibs.engine.entries import EntryDecoder, StreamEvent
from ibs.engine.errors import BadInput, CertificateError, IntegrityError, PathFaultError
from ibs.engine.manifest import Manifest, RoleRecord, parse


def _read_exact(f, view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


class BackupReader:
    """One backup on a share. ``manifest`` is readable at once; ``unlock`` needs the PFX."""

    def __init__(self, share, backup_id: uuid.UUID | str) -> None:
        try:
            self.backup_id = uuid.UUID(str(backup_id))
        except ValueError:
            raise BadInput(f"{backup_id!r} is not a backup id (a GUID)") from None
        self.share = share
        self.folder = layout.backup_dir(self.backup_id)
        try:
            raw = share.read_bytes(f"{self.folder}/{layout.MANIFEST}")
        except PathFaultError:
            if share.stat(self.folder) is None:
                raise BadInput(f"backup {self.backup_id} is not on the share") from None
            raise IntegrityError(f"backup {self.backup_id} has no manifest") from None
        self._parsed = parse(raw, self.backup_id)
        self.manifest: Manifest = self._parsed.manifest
        self._data_key: bytes | None = None

    def unlock(self, key: DecryptionKey) -> None:
        expected = self.manifest.encryptionCertThumbprint
        try:
            data_key = keys.unwrap(key, self.manifest.wrappedKey, self.backup_id)
        except IntegrityError:
            if key.thumbprint != expected:
                raise CertificateError(
                    f"backup {self.backup_id} was encrypted for the certificate with thumbprint "
                    f"{expected}; the PFX given holds {key.thumbprint}"
                ) from None
            raise
        # The key opened, so this PFX holds the right key. The MAC covers the thumbprint, so
        # once it holds, a thumbprint that differs was not altered: the PFX holds the same key
        # under another certificate (a renewal that kept the key), and the backup opens.
        self._parsed.verify(keys.derive(data_key, self.backup_id, "manifest"))
        self._data_key = data_key

    def role(self, name: str) -> RoleRecord:
        record = self.manifest.role(name)
        if record is None:
            names = ", ".join(r.name for r in self.manifest.roles)
            raise BadInput(f"backup {self.backup_id} has no role {name!r} (it has: {names})")
        return record

    def events(self, name: str, threads: bool = False,
               sha256: bool = True) -> Iterator[StreamEvent]:
        """Every entry event of role ``name``, each authenticated before it is yielded.

        ``FileData`` views are valid only until the next event is requested. With ``threads``
        the records are read, hashed and opened ahead in two threads (``engine.pipeline``);
        the events, the checks and the errors are the same either way. ``sha256=False`` skips
        recomputing the data file's keyless hash (see ``event_batches``).
        """
        for batch in self.event_batches(name, threads, sha256):
            yield from batch

    def event_batches(self, name: str, threads: bool = False,
                      sha256: bool = True) -> Iterator[list[StreamEvent]]:
        """The events of ``events``, as lists: those each chunk completes (none empty).

        Less work per event than ``events``, for a caller with many small files to write.
        ``FileData`` views are valid only until the next list is requested.

        ``sha256=False`` checks everything but the manifest's ``sha256`` of the data file. That
        hash is for checking a file without the key (docs/FORMAT.md); a reader with the key
        authenticates every byte it covers anyway (each record's header, ciphertext and tag, in
        order, up to a final record and not a byte after), and computing it is the largest
        single cost of reading a big role. ``verify`` keeps it, as an independent second check.
        """
        if self._data_key is None:
            raise RuntimeError("unlock() the backup before reading roles")
        record = self.role(name)
        opener = chunks.ChunkOpener(keys.derive(self._data_key, self.backup_id, f"role/{name}"),
                                    self.backup_id, name, self.manifest.chunkSize)
        decoder = EntryDecoder()
        digest = hashlib.sha256()
        counts = {"stored": 0, "records": 0}  # kept by the read stage
        plain_total = 0
        try:
            f = self.share.open(f"{self.folder}/{record.file}")
        except PathFaultError:
            raise IntegrityError(f"backup {self.backup_id}: the data file of role {name} is missing") from None

        def records(acquire) -> Iterator[_Sealed]:
            header = bytearray(chunks.HEADER_SIZE)
            index = 0
            # The digest is taken beside the reading, record by record in file order (hashing
            # costs more than reading or opening: in this stage it held back the others). A
            # buffer is read into again only once its bytes are hashed.
            hashing: dict[int, Callable[[], object]] = {}
            with pipeline.beside(digest.update, threads and sha256, name="restore-hash") as hash_:
                while True:
                    got = _read_exact(f, memoryview(header))
                    if got == 0:
                        raise IntegrityError(f"role {name}: data file ends before its final chunk")
                    if got < chunks.HEADER_SIZE:
                        raise IntegrityError(f"role {name}: data file is truncated")
                    head = bytes(header)
                    size, codec, final = opener.parse_header(head, index)
                    buf = acquire()
                    if (wait := hashing.pop(id(buf), None)) is not None:
                        wait()
                    sealed = memoryview(buf)[:size]
                    if _read_exact(f, sealed) < size:
                        raise IntegrityError(f"role {name}: data file is truncated")
                    if sha256:
                        hash_(memoryview(head))
                        hashing[id(buf)] = hash_(sealed)
                    counts["stored"] += chunks.HEADER_SIZE + size
                    yield _Sealed(index, head, size, codec, final, buf)
                    index += 1
                    counts["records"] = index
                    if final:
                        break
                for wait in hashing.values():
                    wait()
            if f.read(1):
                raise IntegrityError(f"role {name}: data file has bytes after its final chunk")

        def open_record(rec: _Sealed, out: bytearray) -> memoryview:
            return opener.open(rec.index, rec.header, memoryview(rec.buffer)[:rec.size],
                               rec.codec, rec.final, out)

        stages = pipeline.staged(records, open_record, self.manifest.chunkSize + chunks.TAG_SIZE,
                                 self.manifest.chunkSize, threads, name="restore")
        # closing(): leaving early (an error, or the caller dropping us) stops the stages' threads
        # before the file they read from is closed.
        with f, contextlib.closing(stages):
            for _rec, plain, release in stages:
                plain_total += len(plain)
                decoder.feed(plain)
                # Symlink targets no file system can hold are refused by the decoder.
                batch = decoder.next_events()
                if batch:
                    yield batch
                del plain, batch
                release()
        decoder.close()  # raises what the decoder found after the last events it handed out
        actual = (counts["records"], plain_total, counts["stored"],
                  digest.hexdigest() if sha256 else record.sha256,
                  decoder.entries, decoder.file_bytes)
        claimed = (record.chunks, record.plaintextBytes, record.storedBytes, record.sha256,
                   record.entries, record.fileBytes)
        if actual != claimed:
            # Checked last, before a restore moves anything into place: every figure the
            # manifest states, whoever reads the role (verify or restore).
            raise IntegrityError(f"role {name}: data file does not match the manifest")


@dataclass(slots=True)
class _Sealed:
    """One record as read from the data file, not yet opened; its bytes are in ``buffer``."""

    index: int
    header: bytes
    size: int
    codec: int
    final: bool
    buffer: bytearray


def verify_role(reader: BackupReader, name: str) -> tuple[int, int]:
    """Read and check a whole role without writing anything; return (entries, file bytes)."""
    for _event in reader.events(name):
        pass  # events() authenticates every chunk and checks every figure of the manifest
    record = reader.role(name)
    return record.entries, record.fileBytes
