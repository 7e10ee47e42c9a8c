"""Writing one backup to a share, one step per sealed chunk (docs/FORMAT.md, "Writing").

The writer never touches the clock or the job's bookkeeping: the controller drives ``steps()``
and records what happened. Nothing under the backup's GUID exists until the final rename.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ibs.engine import chunks, keys, layout
from ibs.engine.certs import Certificate
from ibs.engine.chunker import Chunk, EntryStream, chunks_of
from ibs.engine.errors import SourceError
from ibs.engine.manifest import Manifest, RoleRecord, role_file
from ibs.engine.pipeline import beside, sealed_records
from ibs.engine.source import RoleSource, incompressible, short_chunks_repeat

# Records written but not yet hashed, at most (each holds its buffer until hashed), and the
# pipeline's depth: the sealer still has buffers to work in while these wait.
_HASH_LAG = 2
_DEPTH = 3


# Not frozen: a simulated year makes some 16,000 of these, and a frozen dataclass's __init__
# costs three times a plain one's. Nothing changes one once made.
@dataclass(slots=True)
class Progress:
    role: str
    done_bytes: int  # entry-stream bytes sealed and written so far, all roles
    total_bytes: int  # file bytes of every role at the start (an estimate: files may change)


@dataclass(slots=True)
class RoleOutcome:
    name: str
    record: RoleRecord | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    entries: int = 0
    file_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.record is not None


class BackupWriter:
    def __init__(self, share, cert: Certificate, backup_id: uuid.UUID, created: dt.datetime,
                 sources: dict[str, RoleSource], *, chunk_size: int = chunks.DEFAULT_CHUNK_SIZE,
                 info: dict[str, str] | None = None, threads: bool = True) -> None:
        self.share = share
        self.cert = cert
        self.backup_id = backup_id
        self.created = created
        self.sources = dict(sorted(sources.items()))
        self.chunk_size = chunk_size
        self.info = dict(info or {})
        self.threads = threads
        self.outcomes: list[RoleOutcome] = []
        self.stored_bytes = 0
        self.total_bytes = sum(s.total_bytes() for s in self.sources.values())
        self._done = 0
        self._buffers: tuple[memoryview, bytearray] | None = None  # the inline path's
        # Named once: every role's path starts with it, and a UUID spells itself out in Python.
        name = str(backup_id)
        self.partial = layout.partial_dir(name)
        self.final = layout.backup_dir(name)

    def steps(self) -> Iterator[Progress]:
        """Write everything; yield after each chunk. Raises ``ShareError`` if the share fails."""
        self.share.makedirs(layout.ROOT)
        self.share.makedirs(f"{self.partial}/roles")
        data_key = keys.new_data_key()
        wrapped = keys.wrap(self.cert, data_key, self.backup_id)
        # Every subkey of this backup comes from one key, its HMAC's hashes taken once.
        subkeys = keys.Subkeys(keys.extract(data_key, self.backup_id))
        for name, source in self.sources.items():
            outcome = RoleOutcome(name)
            self.outcomes.append(outcome)
            try:
                outcome.record = yield from self._write_role(name, source, subkeys, outcome)
            except SourceError as exc:
                outcome.error = str(exc)
                self.share.remove(f"{self.partial}/{role_file(name)}")
        records = tuple(o.record for o in self.outcomes if o.record is not None)
        if records:
            manifest = Manifest(
                backupId=self.backup_id, createdDateTime=self.created,
                encryptionCertThumbprint=self.cert.thumbprint, wrappedKey=wrapped,
                chunkSize=self.chunk_size, roles=records, info=self.info,
            )
            body = manifest.to_bytes(subkeys.expand("manifest"))
            self.share.write_bytes(f"{self.partial}/{layout.MANIFEST}", body)
            self.stored_bytes += len(body)
            self.share.rename(self.partial, self.final)

    def _write_role(self, name: str, source: RoleSource, subkeys: keys.Subkeys,
                    outcome: RoleOutcome) -> Generator[Progress, None, RoleRecord]:
        sealer = chunks.ChunkSealer(subkeys.expand(f"role/{name}"),
                                    self.backup_id, name,
                                    incompressible=incompressible(source),
                                    remember_short=short_chunks_repeat(source))
        digest = hashlib.sha256()
        file = role_file(name)
        path = f"{self.partial}/{file}"
        stream = EntryStream(name, source, outcome.warnings)
        if not self.threads:
            with self.share.create(path) as f:
                stored, count = yield from self._write_inline(name, stream, sealer, digest, f)
        else:
            stored, count = yield from self._write_threaded(name, stream, sealer, digest, path)
        self.stored_bytes += stored
        outcome.entries, outcome.file_bytes = stream.entries, stream.file_bytes
        return RoleRecord(
            name=name, file=file, plaintextBytes=stream.total, storedBytes=stored,
            chunks=count, sha256=digest.hexdigest(), entries=stream.entries,
            fileBytes=stream.file_bytes,
        )

    def _write_threaded(self, name: str, stream: EntryStream, sealer: chunks.ChunkSealer,
                        digest: hashlib._Hash, path: str
                        ) -> Generator[Progress, None, tuple[int, int]]:
        """The role's records through the pipeline: read, sealed and hashed in threads.
        Returns (stored bytes, records)."""
        stored = 0
        count = 0

        def produce(acquire: Callable[[], bytearray]) -> Iterator[Chunk]:
            return chunks_of(stream, acquire)

        def seal(chunk: Chunk, out: bytearray) -> int:
            return sealer.seal_into(chunk.index, chunk.data, chunk.final, out)

        # The file's digest is taken record by record in file order, beside the writes: hashing
        # costs more than sealing, so in the seal stage it held back the whole pipeline
        # (measured: 0.76 of the 1.87 CPU-seconds per GiB). The writer does not wait for a
        # record's hash before writing the next one, only before its buffer goes back to the
        # pool: waiting record by record left the writing thread idle for half a backup.
        unhashed: collections.deque[tuple[Callable[[], object], Callable[[], None]]] = \
            collections.deque()
        with self.share.create(path) as f, \
                beside(digest.update, self.threads, name="backup-hash") as hash_record:
            for record in sealed_records(produce, seal, self.chunk_size,
                                         chunks.max_record_size(self.chunk_size), self.threads,
                                         depth=_DEPTH):
                unhashed.append((hash_record(record.view), record.release))
                f.write(record.view)
                stored += len(record.view)
                count += 1
                self._done += record.plain_length
                while len(unhashed) > _HASH_LAG:
                    hashed, release = unhashed.popleft()
                    hashed()
                    release()
                yield Progress(name, self._done, self.total_bytes)
            for hashed, release in unhashed:
                hashed()
                release()
        return stored, count

    def _write_inline(self, name: str, stream: EntryStream, sealer: chunks.ChunkSealer,
                      digest: hashlib._Hash, f: BinaryIO) -> Generator[Progress, None, tuple[int, int]]:
        """The records ``sealed_records`` makes without threads, sealed, written and hashed in
        place: the simulator's path (a simulated year writes some 16,000 records, and the
        pipeline's stages, closures and per-record objects were a tenth of its time).
        Returns (stored bytes, records)."""
        # One pair of buffers serves every role: a record is written and hashed before the
        # next chunk is read, so nothing holds on to them (and zeroing 32 KiB per role cost more
        # than sealing its last chunk).
        if self._buffers is None:
            self._buffers = (memoryview(bytearray(self.chunk_size)),
                             bytearray(chunks.max_record_size(self.chunk_size)))
        plain, out = self._buffers
        sealed = memoryview(out)
        readinto, seal, write, update = stream.readinto, sealer.seal_into, f.write, digest.update
        stored = count = 0
        try:
            while not stream.done:
                n = readinto(plain)
                record = sealed[: seal(count, plain[:n], stream.done, out)]
                update(record)
                write(record)
                stored += len(record)
                count += 1
                self._done += n
                yield Progress(name, self._done, self.total_bytes)
        finally:
            stream.close()
        return stored, count
