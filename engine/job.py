"""One backup job: it holds the job slot and advances one sealed chunk per step.

Whoever drives ``steps()`` (the CLI, the daemon, the REST provider, the simulator) decides
what happens between two steps; the job does its bookkeeping through its controller, which it
sees only as a ``JobContext``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Protocol

from ibs.engine.alerts import where_of
from ibs.engine.backup_writer import BackupWriter, Progress
from ibs.engine.clock import iso_duration
from ibs.engine.errors import AlertCategory, IbsError, ShareCapacityError, ShareError
from ibs.engine.history import BackupRecord
from ibs.engine.jobstate import ACTIVE, Status
from ibs.engine.manifest import format_time, parse_time
from ibs.engine.settings import Settings
from ibs.engine.share import Share
from ibs.engine.source import Skipped, skip_warnings, skipped_of
from ibs.engine.units import human_bytes

if TYPE_CHECKING:
    from ibs.engine.alerts import AlertBook
    from ibs.engine.certs import Certificate
    from ibs.engine.clock import Clock
    from ibs.engine.history import History
    from ibs.engine.source import RoleSource
    from ibs.engine.store import JobSlot


class JobContext(Protocol):
    """What a job needs of the controller that started it: the whole interface between the two
    (engine/controller.py is the one implementation), so the job never reaches further."""

    clock: Clock
    history: History
    slot: JobSlot
    chunk_size: int
    info: dict[str, str]
    threads: bool
    space_margin: int  # room beyond the sources' size the first backup must find free

    @property
    def settings(self) -> Settings: ...  # what an alert's remediation names (host, port)

    def source_factory(self, role: str, folder: str) -> RoleSource: ...

    def shown_bytes(self, n: int) -> int: ...  # the share's bytes as people read them

    def stored_certificate(self, der: bytes) -> Certificate: ...

    def share(self) -> Share: ...

    def prune_on(self, share: Share, dry_run: bool = False) -> list[str]: ...

    def remember_created(self, share: Share, backup_id: str, created: dt.datetime) -> None: ...

    def skip_slots_passed(self, running: BackupRecord) -> list[BackupRecord]: ...

    def alert_book(self) -> AlertBook: ...

    def save_alerts(self, book: AlertBook) -> None: ...

# Room for the manifest and chunk framing when a backup's size is estimated from its sources
# alone (the first backup). Later estimates scale the last backup, whose size includes both.
SOURCE_ESTIMATE_MARGIN = 64 * 1024
# How often a running job saves its progress for other processes to see: after this many bytes
# of data and this much time, whichever comes later. Each save is two fsynced files: by bytes
# alone a fast backup saved 16 times a second, a fifth of its writing thread's time.
_PROGRESS_EVERY = 64 * 1024 * 1024
_PROGRESS_SECONDS = 1.0
# Role statuses as a record holds them: an enum's .value is a property call, ten per role a job.
_SUCCEEDED, _PARTIAL, _FAILED = Status.SUCCEEDED.value, Status.PARTIAL.value, Status.FAILED.value


class Job:
    """One backup job holding the job slot. Drive it with ``steps()`` or ``run()``."""

    def __init__(self, controller: JobContext, record: BackupRecord, settings: Settings) -> None:
        self.ctl = controller
        self.record = record
        self.settings = settings
        self.progress: Progress | None = None
        self._killed = False
        self._started: dt.datetime | None = None
        #: Scheduled times that passed while this job ran, recorded Skipped when it ended.
        self.skipped: list[BackupRecord] = []

    @property
    def finished(self) -> bool:
        return Status(self.record.status) not in ACTIVE

    def run(self, on_progress: Callable[[Progress], None] = lambda p: None) -> BackupRecord:
        for progress in self.steps():
            on_progress(progress)
        return self.record

    def kill(self) -> None:
        """Stop as a crash would: no bookkeeping, leftovers stay (for simulating crashes)."""
        self._killed = True

    def steps(self) -> Iterator[Progress]:
        ctl, record = self.ctl, self.record
        self._started = ctl.clock.now()
        try:
            record.move_to(Status.RUNNING)
            ctl.history.save(record)
            yield from self._write()
        except ShareError as exc:
            self._finish_failed(exc.category, str(exc))
        except IbsError as exc:
            self._finish_failed(AlertCategory.GENERAL_FAULT, str(exc))
        except GeneratorExit:
            if not self._killed:
                self._finish_failed(AlertCategory.GENERAL_FAULT, "the job was cancelled")
            raise
        except Exception as exc:
            self._finish_failed(AlertCategory.GENERAL_FAULT, f"internal error: {type(exc).__name__}: {exc}")
            raise
        finally:
            ctl.slot.release()

    def _write(self) -> Iterator[Progress]:
        ctl, record, settings = self.ctl, self.record, self.settings
        assert settings.cert_der is not None
        cert = ctl.stored_certificate(settings.cert_der)
        record.encryptionCertThumbprint = cert.thumbprint
        sources = {role: ctl.source_factory(role, folder) for role, folder in settings.sources.items()}
        with ctl.share() as share:
            record.transferEncrypted = share.transfer_encrypted
            record.location = share.describe()
            # Expired backups and leftovers go before the new backup is written, so a regular
            # schedule never holds more than 24/f x d backups: the documented budget.
            ctl.prune_on(share)
            writer = BackupWriter(share, cert, uuid.UUID(record.id), parse_time(record.createdDateTime),
                                  sources, chunk_size=ctl.chunk_size, info=ctl.info,
                                  threads=ctl.threads)
            self._check_space(share, writer.total_bytes)
            writing = writer.steps()
            try:
                saved_at, saved_time = -_PROGRESS_EVERY, None
                for progress in writing:
                    self.progress = progress
                    if progress.done_bytes - saved_at >= _PROGRESS_EVERY and (
                            saved_time is None
                            or (ctl.clock.now() - saved_time).total_seconds() >= _PROGRESS_SECONDS):
                        saved_at, saved_time = progress.done_bytes, ctl.clock.now()
                        record.progress = {"role": progress.role, "doneBytes": progress.done_bytes,
                                           "totalBytes": progress.total_bytes}
                        ctl.history.save(record)
                    yield progress
            except BaseException:
                # Closed now, not when the garbage collector gets to it: closing its open file
                # may meet the share's failure, which there could only be printed, not handled.
                if isinstance(writing, Generator):
                    with contextlib.suppress(ShareError, OSError):
                        writing.close()
                if not self._killed:
                    self._discard(share, writer.partial)
                raise
            skipped = {o.name: skipped_of(sources[o.name]) for o in writer.outcomes}
            record.roleStatus = [{"roleName": o.name, "status": _role_status(o.ok, skipped[o.name])}
                                 for o in writer.outcomes]
            record.warnings = [w for o in writer.outcomes for w in o.warnings]
            record.warnings += [o.error for o in writer.outcomes if o.error]
            record.warnings += [w for o in writer.outcomes if o.ok
                                for w in skip_warnings(o.name, skipped[o.name])]
            record.sizeBytes = writer.stored_bytes
            record.dataBytes = sum(o.record.fileBytes for o in writer.outcomes if o.record)
            failed = [o for o in writer.outcomes if not o.ok]
            if len(failed) == len(writer.outcomes):
                # Nothing was renamed into place: what the roles wrote is of no use to anyone.
                self._discard(share, writer.partial)
                raise _AllRolesFailed("; ".join(o.error or o.name for o in failed))
            # Committed: the prune after it need not read back the manifest just written.
            ctl.remember_created(share, record.id, writer.created)
            complete = all(r["status"] == _SUCCEEDED for r in record.roleStatus)
            self._finish(Status.SUCCEEDED if complete else Status.PARTIAL)
            if not failed:
                try:
                    ctl.prune_on(share)
                except ShareError as exc:
                    record.warnings.append(f"retention could not delete old backups: {exc}")
                    ctl.history.save(record)

    @staticmethod
    def _discard(share: Share, partial: str) -> None:
        """Best effort: remove what a failed write left; the next job retries if this fails."""
        try:
            share.rmtree(partial)
        except (ShareError, OSError):
            pass

    def _check_space(self, share: Share, source_bytes: int) -> None:
        last = self.ctl.history.last_succeeded()  # one that backed up some data
        if last is not None:
            # Exact integer ceiling: a float product would be off by a few bytes in 10^10.
            needed = -(-last.sizeBytes * max(source_bytes, 1) // last.dataBytes)
        else:
            needed = source_bytes + self.ctl.space_margin
        free = share.free_space()
        if needed > free:
            shown = self.ctl.shown_bytes
            raise ShareCapacityError(
                f"the share has {_size(shown(free))} free; this backup needs about "
                f"{_size(shown(needed))}")

    def _stamp_end(self) -> str:
        """The job has ended, well or not: its end time (returned), and the slots that passed
        meanwhile."""
        record = self.record
        now = self.ctl.clock.now()
        ended = record.completedDateTime = format_time(now)
        if self._started is not None:
            record.timeTakenToCreate = iso_duration((now - self._started).total_seconds())
        record.progress = None
        self.skipped = self.ctl.skip_slots_passed(record)
        return ended

    def _finish(self, status: Status) -> None:
        ctl, record = self.ctl, self.record
        record.move_to(status)
        ended = self._stamp_end()
        record.isCloudRecoveryReady = status is Status.SUCCEEDED
        ctl.history.save(record)
        book = ctl.alert_book()
        if status is Status.SUCCEEDED:
            book.clear_all(ended)
        else:
            book.raise_alert(AlertCategory.GENERAL_FAULT, _partial_message(record), ended,
                             record.id, where_of(ctl.settings, ctl.info))
        ctl.save_alerts(book)

    def _finish_failed(self, category: AlertCategory, message: str) -> None:
        if self._killed:
            return
        ctl, record = self.ctl, self.record
        if Status(record.status) is Status.QUEUED:
            record.move_to(Status.RUNNING)
        record.move_to(Status.FAILED)
        record.error = {"category": category.value, "message": message}
        ended = self._stamp_end()
        ctl.history.save(record)
        book = ctl.alert_book()
        book.raise_alert(category, message, ended, record.id, where_of(ctl.settings, ctl.info))
        ctl.save_alerts(book)


def _role_status(ok: bool, skipped: Skipped) -> str:
    if not ok:
        return _FAILED
    return _PARTIAL if skipped.unreadable else _SUCCEEDED


def _partial_message(record: BackupRecord) -> str:
    def roles(status: Status) -> str:
        return ", ".join(r["roleName"] for r in record.roleStatus if r["status"] == status.value)

    parts = []
    if failed := roles(Status.FAILED):
        parts.append(f"without roles: {failed}")
    if partial := roles(Status.PARTIAL):
        parts.append(f"with entries it could not read in roles: {partial} (see its warnings)")
    return f"backup {record.id} completed " + "; ".join(parts)


def _size(n: int) -> str:
    # Both forms: rounded for reading, exact because two sizes can round alike.
    return f"{human_bytes(n)} ({n:,} bytes)"


class _AllRolesFailed(IbsError):
    pass
