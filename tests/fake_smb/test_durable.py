"""Durable handles: granted as smbd grants them (with a batch oplock, on a file), asked for
wrongly refused as smbd refuses, and a reconnect finding nothing (fake_smb keeps no open
past its connection).  Against fake_smb and, where Samba is at hand, smbd.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from smbprotocol.connection import Connection
from smbprotocol.create_contexts import (
    CreateContextName,
    SMB2CreateContextRequest,
    SMB2CreateDurableHandleReconnect,
    SMB2CreateDurableHandleRequest,
    SMB2CreateDurableHandleRequestV2,
    SMB2CreateDurableHandleResponse,
    SMB2CreateDurableHandleResponseV2,
)
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FileAttributes,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    RequestedOplockLevel,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.fake_smb.durable import contexts
from tests.fake_smb.conftest import DIALECT_CODES, PASSWORD, USER
from tests.fake_smb.peers import Peer, peers
from tests.fake_smb.raw_requests import SHARE_ALL

STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
BATCH = RequestedOplockLevel.SMB2_OPLOCK_LEVEL_BATCH
LEVEL_II = RequestedOplockLevel.SMB2_OPLOCK_LEVEL_II
NONE = RequestedOplockLevel.SMB2_OPLOCK_LEVEL_NONE


class Server(Peer):
    """Peer, with trees of a chosen dialect."""

    def tree(self, dialect: str | None = None) -> TreeConnect:
        conn = Connection(uuid.uuid4(), self.host, self.port, require_signing=True)
        self._connections.append(conn)
        conn.connect(dialect=DIALECT_CODES[dialect] if dialect else None, timeout=5)
        # smbprotocol requires encryption by default, which SMB 2.x does not have
        session = Session(conn, USER, PASSWORD, auth_protocol="ntlm",
                          require_encryption=not (dialect or "3").startswith("2"))
        session.connect()
        tree = TreeConnect(session, f"\\\\{self.host}\\{self.share_name}")
        tree.connect()
        return tree


@pytest.fixture(params=["fake", pytest.param("samba", marks=pytest.mark.samba)])
def peer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    yield from peers(request.param, request, tmp_path, Server)


def context(name: bytes, data) -> SMB2CreateContextRequest:
    ctx = SMB2CreateContextRequest()
    ctx["buffer_name"] = name
    ctx["buffer_data"] = data
    return ctx


def v1() -> SMB2CreateContextRequest:
    return context(CreateContextName.SMB2_CREATE_DURABLE_HANDLE_REQUEST, SMB2CreateDurableHandleRequest())


def v2(timeout: int) -> SMB2CreateContextRequest:
    request = SMB2CreateDurableHandleRequestV2()
    request["timeout"] = timeout
    request["create_guid"] = uuid.uuid4()
    return context(CreateContextName.SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2, request)


def reconnect_v1() -> SMB2CreateContextRequest:
    reconnect = SMB2CreateDurableHandleReconnect()
    reconnect["data"] = b"\x42" * 16  # a FileId no open has
    return context(CreateContextName.SMB2_CREATE_DURABLE_HANDLE_RECONNECT, reconnect)


def create(tree, name: str, contexts, oplock=BATCH, directory: bool = False):
    """(status, open, response contexts) of a CREATE asking for an oplock and durability."""
    handle = Open(tree, name)
    options = CreateOptions.FILE_DIRECTORY_FILE if directory else CreateOptions.FILE_NON_DIRECTORY_FILE
    attributes = FileAttributes.FILE_ATTRIBUTE_DIRECTORY if directory else FileAttributes.FILE_ATTRIBUTE_NORMAL
    try:
        answered = handle.create(ImpersonationLevel.Impersonation, FilePipePrinterAccessMask.GENERIC_ALL,
                                 attributes, SHARE_ALL, CreateDisposition.FILE_OPEN_IF, options,
                                 create_contexts=contexts, oplock_level=oplock)
    except SMBResponseException as exc:
        return exc.status, None, []
    return 0, handle, answered or []


def test_a_batch_oplock_gets_the_durable_handle_asked_for(peer):
    status, handle, answered = create(peer.tree(), peer.path("v1.dat"), [v1()])
    assert status == 0 and handle.oplock_level == BATCH
    assert [type(c) for c in answered] == [SMB2CreateDurableHandleResponse]
    handle.close()


@pytest.mark.parametrize("asked, granted", [(0, 60_000), (1_000, 1_000), (10**6, 300_000)])
def test_version_2_answers_its_timeout(peer, asked, granted):
    status, handle, answered = create(peer.tree(), peer.path("v2.dat"), [v2(asked)])
    assert status == 0
    assert [type(c) for c in answered] == [SMB2CreateDurableHandleResponseV2]
    assert answered[0]["timeout"].get_value() == granted
    handle.close()


@pytest.mark.parametrize("oplock", [NONE, LEVEL_II])
def test_without_a_batch_oplock_no_durable_handle(peer, oplock):
    status, handle, answered = create(peer.tree(), peer.path("nob.dat"), [v1()], oplock=oplock)
    assert status == 0 and answered == []
    handle.close()


def test_a_directory_gets_no_durable_handle(peer):
    status, handle, answered = create(peer.tree(), peer.path("d"), [v1()], directory=True)
    assert status == 0 and answered == []
    handle.close()


@pytest.mark.parametrize("contexts", [
    lambda: [v1(), v2(0)],  # both versions at once
    lambda: [reconnect_v1(), v2(0)],  # a reconnect that also asks for a new handle
    lambda: [context(CreateContextName.SMB2_CREATE_DURABLE_HANDLE_REQUEST, b"\x00" * 8)],  # too short
    lambda: [context(CreateContextName.SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2, b"\x00" * 16)],
], ids=["v1-and-v2", "reconnect-and-v2", "short-v1", "short-v2"])
def test_a_request_that_makes_no_sense_is_refused_and_opens_nothing(peer, contexts):
    status, _, _ = create(peer.tree(), peer.path("bad.dat"), contexts())
    assert status == STATUS_INVALID_PARAMETER
    assert not (peer.share_dir / peer.folder / "bad.dat").exists()


def test_a_reconnect_to_an_open_the_server_does_not_hold_finds_nothing(peer):
    status, _, _ = create(peer.tree(), peer.path("gone.dat"), [reconnect_v1()], oplock=NONE)
    assert status == STATUS_OBJECT_NAME_NOT_FOUND
    assert not (peer.share_dir / peer.folder / "gone.dat").exists()


# -- the create context list, parsed without a server ----------------------------------
_names = st.binary(min_size=1, max_size=8)
_blobs = st.binary(max_size=40)


@given(st.lists(st.tuples(_names, _blobs), min_size=1, max_size=5, unique_by=lambda c: c[0]))
def test_contexts_packed_by_a_client_are_read_back_by_name(pairs):
    packed = SMB2CreateContextRequest.pack_multiple([context(name, data) for name, data in pairs])
    body = b"\x00" * 56 + packed  # contexts right after a CREATE's fixed part
    assert contexts(body, 64 + 56, len(packed)) == dict(pairs)


@given(st.data())
def test_any_bytes_give_some_contexts_and_never_an_error(data):
    body = data.draw(st.binary(max_size=120))
    start = data.draw(st.integers(0, len(body)))  # mostly inside the body, as a parser meets it
    length = data.draw(st.integers(0, len(body) - start + 8))
    found = contexts(body, 64 + start - data.draw(st.sampled_from([0, 0, 0, 70])), length)
    assert all(isinstance(k, bytes) and isinstance(v, bytes) for k, v in found.items())
