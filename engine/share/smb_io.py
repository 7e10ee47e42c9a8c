"""File objects over an SMB ``Open``: a reader and a durable writer.

Each READ/WRITE asks for at most ``chunk`` bytes: the negotiated MaxReadSize/MaxWriteSize
([MS-SMB2] 2.2.4), capped at 4 MiB. A request of N bytes costs ceil(N / 64 KiB) credits
([MS-SMB2] 3.1.5.2); ``SmbShare`` tops the credit window up before a large request.
"""

from __future__ import annotations

import collections
import contextlib
import io
from collections.abc import Callable
from typing import TYPE_CHECKING

from smbprotocol.exceptions import EndOfFile
from smbprotocol.open import Open

from ibs.engine.errors import GeneralFaultError
from ibs.engine.share.smb_link import credit_shortfall

_SEND_AT = 64 * 1024  # what is held back at most, below a full request
_WINDOW = 2  # write requests in flight at once ([MS-SMB2] 3.2.4.1.5: credits permitting)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

    from ibs.engine.share.smb_link import SmbLink


class _SmbFile(io.RawIOBase):
    def __init__(self, link: SmbLink, handle: Open, label: str, chunk: int,
                 ensure_credits: Callable[[int], None]) -> None:
        self._link = link
        self._handle = handle
        self._label = label
        self._chunk = chunk
        self._ensure_credits = ensure_credits
        self._offset = 0

    def tell(self) -> int:
        return self._offset

    def _close_handle(self, flush: bool) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if flush:
            # FLUSH makes the server write its caches to stable storage ([MS-SMB2] 3.3.5.11).
            with self._link.call(f"flushing {self._label}"):
                handle.flush()
        with self._link.call(f"closing {self._label}"):
            handle.close(False)


class SmbReader(_SmbFile):
    """Sequential reads; ``readinto`` fills the buffer unless the file ends first."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self._handle is None:
            raise ValueError("I/O operation on closed file")
        # The size is the one CREATE reported; backups are immutable once closed.
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._offset, io.SEEK_END: int(self._handle.end_of_file)}
        if whence not in base or base[whence] + offset < 0:
            raise ValueError(f"invalid seek({offset}, {whence})")
        self._offset = base[whence] + offset
        return self._offset

    def readinto(self, buffer: WriteableBuffer) -> int:
        if self._handle is None:
            raise ValueError("I/O operation on closed file")
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view):
            want = min(self._chunk, len(view) - done)
            self._ensure_credits(want)
            with self._link.call(f"reading {self._label}"):
                data = self._read(want)
            if not data:
                break
            view[done : done + len(data)] = data
            done += len(data)
            self._offset += len(data)
        return done

    def _read(self, want: int) -> bytes:
        try:
            return self._handle.read(self._offset, want)
        except EndOfFile:
            # Reading at or past the end is STATUS_END_OF_FILE, not an empty answer ([MS-SMB2] 3.3.5.12).
            return b""

    def readall(self) -> bytes:
        out = bytearray()
        buf = bytearray(self._chunk)
        while True:
            n = self.readinto(buf)
            if not n:
                return bytes(out)
            out += memoryview(buf)[:n]

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._link.dead is None:
                self._close_handle(flush=False)
            # else: the server dropped the handle with the connection; nothing was promised.
        finally:
            self._handle = None
            super().close()


class SmbWriter(_SmbFile):
    """Sequential writes, coalesced into requests of the negotiated size; ``close`` sends the
    rest and flushes, so a closed file is on stable storage.

    The engine writes records of a chunk plus a few bytes of framing: sent as they come, each
    would cost one full-size request and one tiny one, a round trip each.
    """

    _failed = False

    def __init__(self, link: SmbLink, handle: Open, label: str, chunk: int,
                 ensure_credits: Callable[[int], None]) -> None:
        super().__init__(link, handle, label, chunk, ensure_credits)
        self._pending = bytearray()
        self._inflight: collections.deque = collections.deque()

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        if self._handle is None:
            raise ValueError("I/O operation on closed file")
        view = memoryview(data).cast("B")
        pending = self._pending
        if not pending and len(view) >= self._chunk:
            whole = len(view) - len(view) % self._chunk
            self._send(view[:whole])
            view = view[whole:]
        pending += view
        if len(pending) >= self._chunk:
            whole = len(pending) - len(pending) % self._chunk
            self._send(memoryview(pending)[:whole])
            del pending[:whole]
        elif len(pending) >= _SEND_AT:
            # Small writes still leave promptly, so a caller stepping through a file meets a
            # dead connection at the step where it died, not only at close.
            self._send(memoryview(pending))
            pending.clear()
        return memoryview(data).nbytes

    def _send(self, view: memoryview) -> None:
        """Send ``view`` in requests of the negotiated size, ``_WINDOW`` of them in flight:
        the next request travels while the server writes the previous one."""
        handle = self._handle
        tree = handle.tree_connect
        done = 0
        while done < len(view):
            part = bytes(view[done : done + self._chunk])  # smbprotocol packs by concatenation
            # Requests in flight hold credits; their answers bring them back ([MS-SMB2] 3.2.5.1.4).
            while self._inflight and credit_shortfall(handle.connection, len(part)):
                self._collect()
            try:
                self._ensure_credits(len(part))
                with self._link.call(f"writing {self._label}"):
                    message, receive = handle.write(part, self._offset, send=False)
                    request = handle.connection.send(message, tree.session.session_id,
                                                     tree.tree_connect_id)
            except Exception:
                self._failed = True  # the caller has the error; close() must not claim success
                raise
            self._inflight.append((request, receive, len(part)))
            done += len(part)
            self._offset += len(part)
            if len(self._inflight) >= _WINDOW:
                self._collect()

    def _collect(self) -> None:
        """Wait for the oldest request in flight; a short or failed write fails the file."""
        request, receive, size = self._inflight.popleft()
        try:
            with self._link.call(f"writing {self._label}"):
                written = receive(request)
        except Exception:
            self._failed = True
            raise
        if written != size:
            self._failed = True
            raise GeneralFaultError(f"{self._link.where}: the server wrote {written} of {size} "
                                    f"bytes while writing {self._label}")

    def _drain(self) -> None:
        while self._inflight:
            self._collect()

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._failed:
                # A write already raised: drop the handle quietly (best effort) so the error the
                # caller is handling is not replaced by a second one from __exit__.
                with contextlib.suppress(Exception):
                    self._close_handle(flush=False)
            else:
                try:
                    if self._pending:
                        self._send(memoryview(self._pending))
                        self._pending.clear()
                    self._drain()
                except Exception:
                    with contextlib.suppress(Exception):
                        self._close_handle(flush=False)
                    raise
                # Raises if the connection died since the last write: the bytes are not durable.
                self._close_handle(flush=True)
        finally:
            super().close()
