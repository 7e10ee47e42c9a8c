"""Multichannel: binding a second connection to a session, and what the bound channel may do.

Driven by tests/fake_smb/multichannel_client.py (raw SMB 3 with its own key derivation), each
case against fake_smb and, where the outcome is Samba's to decide, a real smbd.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ibs.fake_smb import FakeSmbServer
from tests.fake_smb import multichannel_client as mc
from tests.fake_smb.conftest import PASSWORD, USER

STATUS_ACCESS_DENIED = 0xC0000022
STATUS_LOGON_FAILURE = 0xC000006D
STATUS_USER_SESSION_DELETED = 0xC0000203
STATUS_REQUEST_NOT_ACCEPTED = 0xC00000D0
STATUS_LOCK_NOT_GRANTED = 0xC0000055
STATUS_SHARING_VIOLATION = 0xC0000043
STATUS_RANGE_NOT_LOCKED = 0xC000007E
CONTENT = b"written on the first channel"
OTHER_USER, OTHER_PASSWORD = "bob", "an0ther-pw"


@pytest.fixture
def fake(share) -> Iterator[FakeSmbServer]:
    srv = FakeSmbServer(share, users={USER: PASSWORD, OTHER_USER: OTHER_PASSWORD})
    with srv:
        yield srv


@pytest.fixture(params=["fake_smb", "samba"])
def target(request, fake, share):
    """(port, share UNC, share folder) of the server under test."""
    if request.param == "fake_smb":
        return fake.port, fake.unc, share
    samba = request.getfixturevalue("samba_peer")
    return samba.port, samba.unc, Path(samba.share_dir)


@pytest.fixture
def channels(target) -> Iterator:
    opened: list[mc.Channel] = []

    def open_channel(dialect: int = mc.SMB_3_1_1, **kw) -> mc.Channel:
        channel = mc.Channel(target[0], dialect, **kw)
        opened.append(channel)
        return channel

    yield open_channel
    for channel in opened:
        channel.close()


@pytest.fixture(params=[mc.SMB_3_0, mc.SMB_3_1_1], ids=["3.0", "3.1.1"])
def bound(request, target, channels):
    """(first channel with an open file, second channel bound to the same session, file id)."""
    guid = uuid.uuid4().bytes
    first = channels(request.param, client_guid=guid)
    assert first.caps & mc.CAP_MULTI_CHANNEL
    assert first.logon(USER, PASSWORD).status == mc.STATUS_SUCCESS
    first.tree_connect(target[1])
    file_id = first.create(f"bound-{uuid.uuid4().hex[:8]}.txt")
    assert first.write(file_id, CONTENT) == mc.STATUS_SUCCESS
    second = channels(request.param, client_guid=guid)
    assert second.logon(USER, PASSWORD, bind_to=first.session).status == mc.STATUS_SUCCESS
    second.tree_id = first.tree_id
    return first, second, file_id


def test_a_bound_channel_reaches_the_sessions_opens(bound):
    first, second, file_id = bound
    assert second.session.session_id == first.session.session_id
    assert second.read(file_id, len(CONTENT)) == (mc.STATUS_SUCCESS, CONTENT)
    assert second.close_file(file_id) == mc.STATUS_SUCCESS
    # One open, closed through either channel (smbd says FILE_CLOSED, fake_smb INVALID_HANDLE).
    assert first.read(file_id, 4)[0] != mc.STATUS_SUCCESS


def test_the_channel_signs_with_a_key_of_its_own(bound):
    first, second, file_id = bound
    assert second.session.key != first.session.key
    # The session's first key does not sign requests on the second channel.
    assert second.read(file_id, len(CONTENT), session=first.session)[0] == STATUS_ACCESS_DENIED
    assert second.read(file_id, len(CONTENT)) == (mc.STATUS_SUCCESS, CONTENT)


def test_the_session_outlives_its_first_connection_while_a_channel_remains(bound, target, channels):
    first, second, file_id = bound
    name = "outlives.txt"
    file_id = first.create(name)
    assert first.write(file_id, CONTENT) == mc.STATUS_SUCCESS
    session_key = first.session
    first.close()
    assert second.read(file_id, len(CONTENT)) == (mc.STATUS_SUCCESS, CONTENT)
    # Still bindable, with the key it was set up with (Session.SigningKey).
    third = channels(second.dialect, client_guid=second.client_guid)
    assert third.logon(USER, PASSWORD, bind_to=session_key).status == mc.STATUS_SUCCESS
    third.tree_id = second.tree_id
    assert third.read(file_id, len(CONTENT)) == (mc.STATUS_SUCCESS, CONTENT)
    second.close()
    assert third.read(file_id, len(CONTENT)) == (mc.STATUS_SUCCESS, CONTENT)
    # The last channel gone, the session ends and its open with it: nothing shares the file.
    third.close()
    other = channels()
    assert other.logon(USER, PASSWORD).status == mc.STATUS_SUCCESS
    other.tree_connect(target[1])
    assert _eventually_exclusive(other, name) == mc.STATUS_SUCCESS


def _eventually_exclusive(channel: mc.Channel, name: str) -> int:
    """An exclusive open, retried while the server has yet to see a closed connection go."""
    for _ in range(100):
        status = channel.try_create(name, share=0).status
        if status != STATUS_SHARING_VIOLATION:
            return status
        time.sleep(0.02)
    return status


def test_binding_a_bound_connection_again_is_refused_and_unbinds_it(bound):
    first, second, file_id = bound
    channel_key = second.session
    # Signed with the channel's own key, so it is no forgery: the channel just exists already.
    assert second.logon(USER, PASSWORD, bind_to=channel_key).status == STATUS_REQUEST_NOT_ACCEPTED
    # smbd drops a channel whose bind failed: its key no longer works, a new bind does.
    assert second.read(file_id, 4, session=channel_key)[0] == STATUS_USER_SESSION_DELETED
    assert second.logon(USER, PASSWORD, bind_to=first.session).status == mc.STATUS_SUCCESS
    assert second.read(file_id, len(CONTENT)) == (mc.STATUS_SUCCESS, CONTENT)


def test_logoff_on_the_channel_ends_the_session_on_both(bound):
    first, second, file_id = bound
    assert second.logoff() == mc.STATUS_SUCCESS
    assert first.read(file_id, 4)[0] == STATUS_USER_SESSION_DELETED
    assert second.read(file_id, 4)[0] == STATUS_USER_SESSION_DELETED


def test_a_session_unbound_here_is_user_session_deleted(target, channels):
    # The fast path (fast_path.py) agrees: READ is answered there.
    first, other = channels(), channels()
    assert first.logon(USER, PASSWORD).status == mc.STATUS_SUCCESS
    assert other.logon(USER, PASSWORD).status == mc.STATUS_SUCCESS
    first.tree_connect(target[1])
    file_id = first.create("unbound.txt")
    assert other.read(file_id, 1, session=first.session)[0] == STATUS_USER_SESSION_DELETED


def test_a_bind_with_a_wrong_password_leaves_no_channel(target, channels):
    guid = uuid.uuid4().bytes
    first = channels(client_guid=guid)
    assert first.logon(USER, PASSWORD).status == mc.STATUS_SUCCESS
    first.tree_connect(target[1])
    file_id = first.create("wrong-password.txt")
    assert first.write(file_id, CONTENT) == mc.STATUS_SUCCESS
    second = channels(client_guid=guid)
    assert second.logon(USER, "not the password", bind_to=first.session).status == STATUS_LOGON_FAILURE
    assert second.read(file_id, 1, session=first.session)[0] == STATUS_USER_SESSION_DELETED
    assert first.read(file_id, len(CONTENT)) == (mc.STATUS_SUCCESS, CONTENT)  # the session is untouched


def test_a_bind_by_another_user_is_access_denied(fake, share):
    guid = uuid.uuid4().bytes
    first, second = mc.Channel(fake.port, client_guid=guid), mc.Channel(fake.port, client_guid=guid)
    try:
        assert first.logon(USER, PASSWORD).status == mc.STATUS_SUCCESS
        assert second.logon(OTHER_USER, OTHER_PASSWORD, bind_to=first.session).status == STATUS_ACCESS_DENIED
        assert second.logon(USER, PASSWORD, bind_to=first.session).status == mc.STATUS_SUCCESS
    finally:
        first.close()
        second.close()


# -- LOCK replays, checked once multichannel is negotiated (lock_sequence.py) -----------------------
@pytest.mark.parametrize("multichannel", [True, False])
def test_a_replayed_lock_is_done_once(target, channels, multichannel):
    channel = channels(mc.SMB_3_0, multichannel=multichannel)
    assert channel.logon(USER, PASSWORD).status == mc.STATUS_SUCCESS
    channel.tree_connect(target[1])
    file_id = channel.create(f"replay-{multichannel}.txt")
    assert channel.lock(file_id, 0x11, mc.LOCK_EXCLUSIVE_NOW) == mc.STATUS_SUCCESS
    # The same LockSequence again: a replay, answered without locking again.
    assert channel.lock(file_id, 0x11, mc.LOCK_EXCLUSIVE_NOW) == \
        (mc.STATUS_SUCCESS if multichannel else STATUS_LOCK_NOT_GRANTED)
    assert channel.lock(file_id, 0x12, mc.LOCK_UNLOCK) == mc.STATUS_SUCCESS
    assert channel.lock(file_id, 0x12, mc.LOCK_UNLOCK) == \
        (mc.STATUS_SUCCESS if multichannel else STATUS_RANGE_NOT_LOCKED)
    # Bucket 65 does not exist: never a replay.
    assert channel.lock(file_id, 0x411, mc.LOCK_UNLOCK) == STATUS_RANGE_NOT_LOCKED


# -- several sessions on one connection (channels._begin_session) ------------------------------------
@pytest.mark.parametrize("second_password", [PASSWORD, "not the password"])
def test_a_further_logon_on_a_connection_keeps_its_first_session(target, channels, second_password):
    channel = channels()
    assert channel.logon(USER, PASSWORD).status == mc.STATUS_SUCCESS
    first_session, tree_id = channel.session, channel.tree_connect(target[1])
    file_id = channel.create(f"first-session-{uuid.uuid4().hex[:8]}.txt")
    assert channel.write(file_id, CONTENT) == mc.STATUS_SUCCESS
    status = channel.logon(USER, second_password).status
    assert status == (mc.STATUS_SUCCESS if second_password == PASSWORD else STATUS_LOGON_FAILURE)
    if status == mc.STATUS_SUCCESS:
        assert channel.session.session_id != first_session.session_id
        channel.tree_connect(target[1])  # the new session's own tree
        assert channel.create("second-session.txt")
        # The first session's open is not the second's (smbd: FILE_CLOSED).
        assert channel.read(file_id, 4)[0] != mc.STATUS_SUCCESS
    channel.tree_id = tree_id
    assert channel.read(file_id, len(CONTENT), session=first_session) == (mc.STATUS_SUCCESS, CONTENT)
