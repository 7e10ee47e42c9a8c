"""Lock sequence verification on durable opens (MS-SMB2 3.3.5.14; smbtorture
smb2.lock.replay_smb3_specification_durable): a LOCK sent again with the LockSequence its
bucket last succeeded with does nothing and succeeds.  Against fake_smb and, where Samba
is at hand, smbd; the last test sends the same random LOCKs to both and compares.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import LockFlags, SMB2LockElement

from ibs.fake_smb import FakeSmbServer
from tests.fake_smb.conftest import PASSWORD, USER
from tests.fake_smb.test_durable import NONE, Server, create, peer, v1

__all__ = ["peer"]  # fixture

STATUS_LOCK_NOT_GRANTED = 0xC0000055
STATUS_RANGE_NOT_LOCKED = 0xC000007E
LOCK = LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY
UNLOCK = LockFlags.SMB2_LOCKFLAG_UNLOCK


def lock(handle, flags: int, bucket: int, number: int, offset: int = 100) -> int:
    """The status of a LOCK of 100 bytes at ``offset`` with LockSequence (bucket, number)."""
    element = SMB2LockElement()
    element["offset"], element["length"], element["flags"] = offset, 100, flags
    request, receive = handle.lock([element], send=False)
    # smbprotocol packs the two the other way round; MS-SMB2 2.2.26: number in the low 4 bits.
    request["lock_sequence"] = bucket << 4 | number
    tree = handle.tree_connect
    try:
        receive(tree.session.connection.send(request, tree.session.session_id, tree.tree_connect_id))
    except SMBResponseException as exc:
        return exc.status
    return 0


def durable_open(server: Server, name: str = "r.dat", dialect: str | None = None):
    status, handle, answered = create(server.tree(dialect), server.path(name), [v1()])
    assert status == 0 and answered, "no durable handle granted"
    return handle


def test_a_replayed_lock_and_unlock_succeed_and_change_nothing(peer):
    handle = durable_open(peer)
    assert lock(handle, LOCK, 1, 1) == 0
    assert lock(handle, LOCK, 1, 1) == 0  # replay: not locked twice
    assert lock(handle, UNLOCK, 1, 1) == 0  # replay too: still locked
    assert lock(handle, LOCK, 1, 2) == STATUS_LOCK_NOT_GRANTED  # new number: carried out
    assert lock(handle, LOCK, 2, 1) == STATUS_LOCK_NOT_GRANTED  # another bucket
    assert lock(handle, UNLOCK, 1, 1) == 0  # bucket 1 forgot its 1 at the failed LOCK: unlocks
    assert lock(handle, LOCK, 2, 1) == 0  # so the range is free
    assert lock(handle, UNLOCK, 2, 2) == 0
    assert lock(handle, UNLOCK, 2, 3) == STATUS_RANGE_NOT_LOCKED


@pytest.mark.parametrize("bucket", [0, 65])
def test_buckets_outside_1_to_64_are_not_checked(peer, bucket):
    handle = durable_open(peer)
    assert lock(handle, LOCK, bucket, 1) == 0
    assert lock(handle, LOCK, bucket, 1) == STATUS_LOCK_NOT_GRANTED
    assert lock(handle, UNLOCK, bucket, 1) == 0
    assert lock(handle, UNLOCK, bucket, 1) == STATUS_RANGE_NOT_LOCKED


def test_a_failed_lock_leaves_no_number_to_replay(peer):
    handle = durable_open(peer)
    assert lock(handle, LOCK, 64, 1) == 0
    assert lock(handle, LOCK, 64, 2) == STATUS_LOCK_NOT_GRANTED
    assert lock(handle, LOCK, 64, 2) == STATUS_LOCK_NOT_GRANTED  # carried out again, not replayed


@pytest.fixture
def fake_2x(tmp_path: Path) -> Iterator[Server]:
    """fake_smb alone: the Samba peer offers SMB 3.0 and later only."""
    with FakeSmbServer(tmp_path, users={USER: PASSWORD}) as srv:
        server = Server("fake", srv.host, srv.port, srv.share_name, tmp_path)
        yield server
        server.close()


def test_without_durability_on_smb_2_1_every_lock_is_carried_out(fake_2x):
    # smbd checks other opens too when it offers multichannel, which is SMB 3 only.
    status, handle, answered = create(fake_2x.tree("2.1"), fake_2x.path("plain.dat"), [], oplock=NONE)
    assert status == 0 and not answered
    assert lock(handle, LOCK, 1, 1) == 0
    assert lock(handle, LOCK, 1, 1) == STATUS_LOCK_NOT_GRANTED


@pytest.mark.parametrize("dialect, replayed", [("2.0.2", STATUS_LOCK_NOT_GRANTED), ("2.1", 0)])
def test_smb_2_0_2_has_no_lock_sequence(fake_2x, dialect, replayed):
    handle = durable_open(fake_2x, dialect=dialect)
    assert lock(handle, LOCK, 1, 1) == 0
    assert lock(handle, LOCK, 1, 1) == replayed


_steps = st.lists(st.tuples(st.sampled_from([LOCK, UNLOCK]), st.sampled_from([0, 1, 2, 64, 65]),
                            st.integers(0, 3), st.sampled_from([0, 100])), min_size=1, max_size=12)


@pytest.mark.samba
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=_steps)
def test_random_locks_on_a_durable_open_are_answered_as_smbd_answers_them(samba_peer, tmp_path, steps):
    fake_dir = tmp_path / f"fake{uuid.uuid4().hex[:6]}"
    fake_dir.mkdir()
    with FakeSmbServer(fake_dir, users={USER: PASSWORD}) as fake:
        servers = [Server("fake", fake.host, fake.port, fake.share_name, fake_dir),
                   Server("samba", samba_peer.host, samba_peer.port, samba_peer.share_name,
                          Path(samba_peer.share_dir))]
        try:
            handles = [durable_open(s) for s in servers]
            for flags, bucket, number, offset in steps:
                answers = [lock(h, flags, bucket, number, offset) for h in handles]
                assert answers[0] == answers[1], (flags, bucket, number, offset)
            for h in handles:
                h.close()
        finally:
            for s in servers:
                s.close()
