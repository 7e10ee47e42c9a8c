"""An smbprotocol client that can hold oplocks: it catches break notifications and acks them.

smbprotocol asks for no oplocks and has no place for a message no request waits on (its
reader looks every MessageId up in its outstanding requests, and 0xFFFFFFFFFFFFFFFF is
never there).  ``catch_breaks`` gives that MessageId a sink that queues each break
notification as (FileId, new level); ``acknowledge`` sends the OPLOCK_BREAK acknowledgment
smbprotocol lacks.
"""

from __future__ import annotations

import queue
import struct
import threading

from smbprotocol.connection import Commands
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
)

from tests.fake_smb.raw_requests import SHARE_ALL

UNSOLICITED = 0xFFFFFFFFFFFFFFFF
NONE, LEVEL_II, EXCLUSIVE, BATCH = 0x00, 0x01, 0x08, 0x09


class _Reserved:
    def get_value(self) -> int:
        return 0


class _Event:
    def __init__(self, sink: _BreakSink) -> None:
        self._sink = sink

    def set(self) -> None:
        header = self._sink.response
        body = header["data"].get_value()
        _, level, _, _, file_id = struct.unpack_from("<HBBI16s", body)
        self._sink.breaks.put((header["command"].get_value(), header["session_id"].get_value(),
                               file_id, level))


class _BreakSink:
    """Stands in for a request smbprotocol's reader thread hands a response to."""

    session_id = 0
    async_id = None

    def __init__(self, breaks: queue.Queue) -> None:
        self.breaks = breaks
        self.response = None
        self.response_event_lock = threading.Lock()
        self.response_event = _Event(self)
        self.message = {"reserved": _Reserved()}


class _Requests(dict):
    def __init__(self, existing: dict, breaks: queue.Queue) -> None:
        super().__init__(existing)
        self._sink = _BreakSink(breaks)

    def __missing__(self, key):
        if key == UNSOLICITED:
            return self._sink
        raise KeyError(key)


def catch_breaks(connection) -> queue.Queue:
    """Queue of (command, session id, FileId, level) for each break the server sends."""
    breaks: queue.Queue = queue.Queue()
    connection.outstanding_requests = _Requests(connection.outstanding_requests, breaks)
    return breaks


class _Ack:
    COMMAND = Commands.SMB2_OPLOCK_BREAK

    def __init__(self, file_id: bytes, level: int, size: int = 24) -> None:
        self.data = struct.pack("<HBBI", size, level, 0, 0) + file_id

    def pack(self) -> bytes:
        return self.data

    def __len__(self) -> int:
        return len(self.data)


def acknowledge(tree, file_id: bytes, level: int, size: int = 24) -> tuple[int, int | None]:
    """(status, level the server answers) of an OPLOCK_BREAK acknowledgment."""
    conn = tree.session.connection
    request = conn.send(_Ack(file_id, level, size), sid=tree.session.session_id, tid=tree.tree_connect_id)
    try:
        response = conn.receive(request)
    except SMBResponseException as exc:
        return exc.status, None
    return response["status"].get_value(), response["data"].get_value()[2]


def create(tree, name: str, oplock: int, access: int = FilePipePrinterAccessMask.GENERIC_ALL,
           share: int = SHARE_ALL, disposition: int = CreateDisposition.FILE_OPEN_IF,
           options: int = CreateOptions.FILE_NON_DIRECTORY_FILE) -> Open:
    """An open asking for ``oplock``; its ``oplock_level`` is what the server granted."""
    handle = Open(tree, name)
    handle.create(ImpersonationLevel.Impersonation, access, 0, share, disposition, options,
                  oplock_level=oplock)
    return handle


def create_later(tree, name: str, oplock: int, **kw):
    """Send a CREATE without waiting: returns a function that waits for its answer (the
    Open, or the SMBResponseException it failed with)."""
    result: dict = {}

    def run() -> None:
        try:
            result["open"] = create(tree, name, oplock, **kw)
        except SMBResponseException as exc:
            result["open"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def wait(timeout: float = 10):
        thread.join(timeout)
        return result.get("open")

    wait.thread = thread
    return wait
