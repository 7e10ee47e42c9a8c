"""Durable handles as smbd grants them (MS-SMB2 3.3.5.9.6, 3.3.5.9.10), without reconnection.

A CREATE may ask for a durable handle, version 1 (an SMB2_CREATE_DURABLE_HANDLE_REQUEST
context, "DHnQ") or 2 ("DH2Q", with a timeout).  smbd grants one only to an open that holds
a handle cache, which without leases means a batch oplock, on a file; the answer is the same
context back (version 2 with its timeout: the client's, at most 300 s, 60 s if it gave none).
A request it cannot make sense of is refused before the open, in smbd's order: two contexts
that contradict each other, or one of the wrong size, INVALID_PARAMETER.

What durability changes here is lock replay detection (lock_sequence.py).  What it is for,
keeping the open across a lost connection, fake_smb does not do: a durable open still closes
with its connection, and a reconnect ("DHnC", "DH2C") finds nothing, OBJECT_NAME_NOT_FOUND,
which is what smbd answers once a durable open has timed out; a client then opens afresh.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from impacket.nt_errors import (
    STATUS_INVALID_PARAMETER,
    STATUS_OBJECT_NAME_NOT_FOUND,
    STATUS_SUCCESS,
)

DURABLE_KEY = "Durable"  # on an open: it was granted a durable handle
DHNQ, DHNC, DH2Q, DH2C = b"DHnQ", b"DHnC", b"DH2Q", b"DH2C"
OPLOCK_LEVEL_BATCH = 0x09
_DEFAULT_V2_TIMEOUT_MS = 60 * 1000
_MAX_V2_TIMEOUT_MS = 300 * 1000
_CONTEXT = struct.Struct("<IHHHHI")  # Next NameOffset NameLength Reserved DataOffset DataLength (2.2.13.2)
_RESPONSE_FIXED = 88  # the CREATE response up to its Buffer (2.2.14)
_RESPONSE_CONTEXTS = 80  # where CreateContextsOffset and -Length sit in it


@dataclass(frozen=True)
class Request:
    """A durable handle asked for: version 1, or 2 with the timeout the grant would carry."""

    version: int
    timeout_ms: int = 0


def contexts(body, offset: int, length: int) -> dict[bytes, bytes]:
    """The create contexts of a CREATE request body, by name (MS-SMB2 2.2.13.2); what does
    not parse ends the list (smbd refuses such a request, fake_smb reads what it can)."""
    found: dict[bytes, bytes] = {}
    start = offset - 64
    if not length or start < 0 or start + length > len(body):
        return found
    data = bytes(body[start:start + length])
    pos = 0
    while pos + _CONTEXT.size <= len(data):
        nxt, name_off, name_len, _, data_off, data_len = _CONTEXT.unpack_from(data, pos)
        name = data[pos + name_off:pos + name_off + name_len]
        found.setdefault(name, data[pos + data_off:pos + data_off + data_len] if data_len else b"")
        if not nxt:
            break
        pos += nxt
    return found


def requested(ctx: dict[bytes, bytes]) -> tuple[int, Request | None]:
    """(status, what is asked): the checks smbd makes before the open, in its order."""
    if (DHNC in ctx and DH2C in ctx) or (DHNC in ctx and DH2Q in ctx) or (DH2C in ctx and DHNQ in ctx) \
            or (DH2Q in ctx and DH2C in ctx):
        return STATUS_INVALID_PARAMETER, None
    if DHNC in ctx or DH2C in ctx:
        size = 16 if DHNC in ctx else 36
        if len(ctx.get(DHNC, ctx.get(DH2C, b""))) != size:
            return STATUS_INVALID_PARAMETER, None
        return STATUS_OBJECT_NAME_NOT_FOUND, None  # no durable open outlives its connection
    if DHNQ in ctx:
        if len(ctx[DHNQ]) != 16 or DH2Q in ctx:
            return STATUS_INVALID_PARAMETER, None
        return STATUS_SUCCESS, Request(1)
    if DH2Q in ctx:
        if len(ctx[DH2Q]) != 32:
            return STATUS_INVALID_PARAMETER, None
        (timeout,) = struct.unpack_from("<I", ctx[DH2Q], 0)
        return STATUS_SUCCESS, Request(2, min(timeout, _MAX_V2_TIMEOUT_MS) or _DEFAULT_V2_TIMEOUT_MS)
    return STATUS_SUCCESS, None


def _response_context(request: Request) -> bytes:
    data = b"\x00" * 8 if request.version == 1 else struct.pack("<II", request.timeout_ms, 0)
    name = DHNQ if request.version == 1 else DH2Q
    return _CONTEXT.pack(0, 16, 4, 0, 24, len(data)) + name + b"\x00" * 4 + data


def grant(entry: dict, request: Request | None, oplock_level: int, body: bytes) -> bytes:
    """The CREATE response ``body`` with the durable handle granted if it is (the open is
    marked so), else unchanged."""
    if request is None or oplock_level != OPLOCK_LEVEL_BATCH:
        return body  # batch oplocks are never granted on directories (oplocks.py)
    entry[DURABLE_KEY] = True
    head = bytearray(body[:_RESPONSE_FIXED])
    struct.pack_into("<II", head, _RESPONSE_CONTEXTS, 64 + _RESPONSE_FIXED, 0)
    context = _response_context(request)
    struct.pack_into("<I", head, _RESPONSE_CONTEXTS + 4, len(context))
    return bytes(head) + context
