"""Writing a big restored file around the page cache (O_DIRECT), from a thread of its own.

Why: on the VMs the bench runs on, writing 1 GiB through the page cache cost the writing thread
0.5-1.5 CPU-seconds (copying into freshly allocated cache pages, plus the writeback that the
page-cache hints start in the caller), varying with the machine's state; the same bytes written
O_DIRECT took about 0.05 CPU-seconds and ran at the disk's speed. A restore that writes that
way waits on the disk instead of computing, so the writes run in one thread of their own while
the restore opens the next records.

A file's bytes arrive as views at any offset, so they are copied into page-aligned buffers,
each written whole while the next one fills. Where the file system refuses O_DIRECT (tmpfs
before Linux 6.6, some FUSE and network file systems), or a direct write is refused or comes
back short, the file (or its rest) is written through the page cache instead: the same bytes
at the same offsets either way.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import mmap
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

# O_DIRECT needs the buffer's address, the file offset and the length aligned to the device's
# logical block (512 or 4096 bytes on any common disk); page-aligned buffers cover both.
ALIGN = 4096
BUFFER = 4 * 1024 * 1024  # one default chunk; larger direct writes were measured no faster
_BUFFERS = 3  # one filling, two in flight: the disk never waits for the copy
# Smaller files are written through the page cache: a direct write waits for the disk, and a
# file of a buffer or two gains nothing from the overlap.
DIRECT_MIN = 2 * BUFFER
_O_DIRECT = getattr(os, "O_DIRECT", 0)


class DirectWriter:
    """The aligned buffers and the writing thread of one restore, reused file after file.

    With ``threads=False`` (the simulator, whose runs must be deterministic) every write runs
    inline; the bytes are the same.
    """

    def __init__(self, threads: bool) -> None:
        self._free: list[mmap.mmap] = []
        self._made = 0
        self._pool = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="ibs-restore-write")
                      if threads else None)

    def start(self, fd: int) -> DirectFile | None:
        """``fd`` switched to O_DIRECT, or None where the file system does not take it."""
        if not _O_DIRECT:
            return None
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags | _O_DIRECT)
        except OSError:
            return None
        return DirectFile(fd, self)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _take(self) -> mmap.mmap:
        if self._free:
            return self._free.pop()
        self._made += 1
        return mmap.mmap(-1, BUFFER)  # anonymous maps are page-aligned

    def _give(self, buf: mmap.mmap) -> None:
        self._free.append(buf)

    def _submit(self, work: Callable[[], None]) -> Future[None]:
        future: Future[None] = Future()
        if self._pool is not None:
            return self._pool.submit(work)
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - raised where the threaded path raises it
            future.set_exception(exc)
        else:
            future.set_result(None)
        return future


class DirectFile:
    """One file being written: ``write`` views in order, then ``finish`` (or ``abandon``)."""

    def __init__(self, fd: int, writer: DirectWriter) -> None:
        self._fd = fd
        self._writer = writer
        self._direct = True  # switched off for good once a direct write is refused
        self._buf: mmap.mmap | None = None
        self._fill = 0
        self._offset = 0  # of the buffer being filled, in the file
        self._pending: deque[tuple[Future[None], mmap.mmap]] = deque()

    def write(self, data: memoryview) -> None:
        pos, end = 0, len(data)
        while pos < end:
            buf = self._buf
            if buf is None:
                buf = self._buf = self._next_buffer()
            k = min(BUFFER - self._fill, end - pos)
            buf[self._fill:self._fill + k] = data[pos:pos + k]
            self._fill += k
            pos += k
            if self._fill == BUFFER:
                write = functools.partial(self._write, buf, BUFFER, self._offset)
                self._pending.append((self._writer._submit(write), buf))
                self._buf, self._fill = None, 0
                self._offset += BUFFER

    def finish(self) -> None:
        """Write what is left and wait for every write; an error of any write is raised."""
        self._drain()
        buf, fill = self._buf, self._fill
        if buf is None:
            return
        self._buf, self._fill = None, 0
        try:
            whole = fill - fill % ALIGN
            self._write(buf, whole, self._offset)
            if whole < fill:  # the tail is not a whole block: it cannot go direct
                self._buffered()
                with memoryview(buf) as view:
                    _pwrite_all(self._fd, view[whole:fill], self._offset + whole)
        finally:
            self._writer._give(buf)

    def abandon(self) -> None:
        """Wait for the writes in flight (their errors no longer matter): the caller may then
        close the descriptor without a write landing on a number reused by another file."""
        while self._pending:
            future, buf = self._pending.popleft()
            future.exception()
            self._writer._give(buf)
        if self._buf is not None:
            self._writer._give(self._buf)
            self._buf = None

    def _next_buffer(self) -> mmap.mmap:
        # A buffer is reused only once its write is done; waiting here is what bounds memory.
        if len(self._pending) >= _BUFFERS - 1:
            future, buf = self._pending.popleft()
            try:
                future.result()
            finally:
                self._writer._give(buf)
        return self._writer._take()

    def _drain(self) -> None:
        try:
            while self._pending:
                future, buf = self._pending[0]
                future.result()
                self._pending.popleft()
                self._writer._give(buf)
        except BaseException:
            self.abandon()
            raise

    def _write(self, buf: mmap.mmap, length: int, offset: int) -> None:
        with memoryview(buf) as whole:
            view = whole[:length]
            done = 0
            while done < length:
                if not self._direct:
                    _pwrite_all(self._fd, view[done:], offset + done)
                    return
                try:
                    n = os.pwrite(self._fd, view[done:], offset + done)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    self._buffered()  # an alignment this file system wants and we cannot tell
                    continue
                done += n
                if n % ALIGN:
                    self._buffered()  # short and unaligned: the rest cannot go direct

    def _buffered(self) -> None:
        if self._direct:
            self._direct = False
            flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
            fcntl.fcntl(self._fd, fcntl.F_SETFL, flags & ~_O_DIRECT)


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)
