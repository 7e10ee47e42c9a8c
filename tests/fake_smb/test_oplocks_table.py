"""The oplock table's rules, without a network: what is granted, what a new open breaks
and waits for, and (hypothesis) that no cache is ever left promised against another open."""

from __future__ import annotations

import threading

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ibs.fake_smb.oplocks import (
    LEVEL_BATCH,
    LEVEL_EXCLUSIVE,
    LEVEL_II,
    LEVEL_LEASE,
    LEVEL_NONE,
    OplockTable,
)

KEY = (1, 42)
READ_WRITE = 0x3  # FILE_READ_DATA | FILE_WRITE_DATA
STAT = 0x80  # FILE_READ_ATTRIBUTES only


def table() -> OplockTable:
    return OplockTable(threading.RLock())


def test_alone_gets_what_it_asks():
    for level in (LEVEL_NONE, LEVEL_II, LEVEL_EXCLUSIVE, LEVEL_BATCH):
        t = table()
        assert t.grant(KEY, level, READ_WRITE, False, None).level == level


def test_shared_file_gets_level_ii_at_most_and_a_lease_request_none():
    t = table()
    t.grant(KEY, LEVEL_NONE, READ_WRITE, False, None)
    assert t.grant(KEY, LEVEL_BATCH, READ_WRITE, False, None).level == LEVEL_II
    assert t.grant(KEY, LEVEL_EXCLUSIVE, READ_WRITE, False, None).level == LEVEL_II
    assert table().grant(KEY, LEVEL_LEASE, READ_WRITE, False, None).level == LEVEL_NONE


def test_a_stat_open_breaks_none_and_does_not_count():
    t = table()
    t.grant(KEY, LEVEL_NONE, STAT, False, None)
    held = t.grant(KEY, LEVEL_BATCH, READ_WRITE, False, None)
    assert held.level == LEVEL_BATCH
    assert t.breaks_for_open(KEY, STAT, False, False) == ([], set())
    # Beside the write cache it left alone it gets none (smb2.oplock.batch8, exclusive4)...
    assert t.grant(KEY, LEVEL_BATCH, STAT, False, None).level == LEVEL_NONE
    # ...alone it gets what it asks (smb2.oplock.batch9), and its cache counts for the next.
    t2 = table()
    first = t2.grant(KEY, LEVEL_BATCH, STAT, False, None)
    assert first.level == LEVEL_BATCH
    assert t2.breaks_for_open(KEY, READ_WRITE, False, False)[1] == {first}
    t2.acknowledge(first, LEVEL_II)
    assert t2.grant(KEY, LEVEL_BATCH, READ_WRITE, False, None).level == LEVEL_II
    # ...unless it overwrites the file (smbtorture smb2.oplock.exclusive5).
    breaks, waits = t.breaks_for_open(KEY, STAT, False, True)
    assert [(b.oplock, b.level) for b in breaks] == [(held, LEVEL_NONE)] and waits == {held}


def test_directories_get_none():
    assert table().grant(KEY, LEVEL_BATCH, READ_WRITE, True, None).level == LEVEL_NONE


def test_batch_is_broken_to_level_ii_and_the_open_waits():
    t = table()
    held = t.grant(KEY, LEVEL_BATCH, READ_WRITE, False, None)
    breaks, waits = t.breaks_for_open(KEY, READ_WRITE, False, False)
    assert [(b.oplock, b.level) for b in breaks] == [(held, LEVEL_II)]
    assert waits == {held}
    # A second open meanwhile waits too, without a second notification.
    assert t.breaks_for_open(KEY, READ_WRITE, False, False) == ([], {held})


def test_overwrite_breaks_to_none():
    t = table()
    held = t.grant(KEY, LEVEL_EXCLUSIVE, READ_WRITE, False, None)
    breaks, waits = t.breaks_for_open(KEY, READ_WRITE, False, True)
    assert [(b.oplock, b.level) for b in breaks] == [(held, LEVEL_NONE)]
    assert waits == {held}


def test_sharing_violation_breaks_only_batch():
    t = table()
    t.grant(KEY, LEVEL_EXCLUSIVE, READ_WRITE, False, None)
    assert t.breaks_for_open(KEY, READ_WRITE, True, False) == ([], set())
    t2 = table()
    held = t2.grant(KEY, LEVEL_BATCH, READ_WRITE, False, None)
    breaks, waits = t2.breaks_for_open(KEY, READ_WRITE, True, False)
    assert [(b.oplock, b.level) for b in breaks] == [(held, LEVEL_II)] and waits == {held}


def test_level_ii_is_broken_by_an_overwrite_without_waiting():
    t = table()
    t.grant(KEY, LEVEL_NONE, READ_WRITE, False, None)
    held = t.grant(KEY, LEVEL_II, READ_WRITE, False, None)
    breaks, waits = t.breaks_for_open(KEY, READ_WRITE, False, True)
    assert [(b.oplock, b.level) for b in breaks] == [(held, LEVEL_NONE)] and waits == set()
    assert held.level == LEVEL_NONE and held.breaking_to is None


def test_ack_settles_the_waiting_open_once():
    t = table()
    held = t.grant(KEY, LEVEL_BATCH, READ_WRITE, False, None)
    _, waits = t.breaks_for_open(KEY, READ_WRITE, False, False)
    resumed = []
    t.defer(waits, lambda: resumed.append(1))
    assert t.acknowledge(held, LEVEL_II) == LEVEL_II
    assert resumed == [1] and held.level == LEVEL_II
    assert t.acknowledge(held, LEVEL_II) is None  # nothing outstanding any more
    assert resumed == [1]


def test_ack_keeping_more_than_the_break_left_is_taken_as_the_break():
    t = table()
    held = t.grant(KEY, LEVEL_BATCH, READ_WRITE, False, None)
    t.breaks_for_open(KEY, READ_WRITE, False, True)  # to none
    assert t.acknowledge(held, LEVEL_II) == LEVEL_NONE


def test_close_and_timeout_release_the_waiting_open():
    for end in ("release", "time_out"):
        t = table()
        held = t.grant(KEY, LEVEL_BATCH, READ_WRITE, False, None)
        _, waits = t.breaks_for_open(KEY, READ_WRITE, False, False)
        resumed = []
        t.defer(waits, lambda r=resumed: r.append(1))
        getattr(t, end)(held)
        assert resumed == [1] and held.level == LEVEL_NONE and t.pending() == 0


class OplockMachine(RuleBasedStateMachine):
    """Opens, acknowledgments, timeouts, writes and closes in any order.  A new open goes
    through the table as CREATE does: break, and wait (retrying when resumed) or open."""

    def __init__(self) -> None:
        super().__init__()
        self.table = table()
        self.live: list = []
        self.notified: list = []  # (oplock, level) of every break notification

    def _attempt(self, requested: int, access: int, overwrite: bool) -> None:
        with self.table.lock:
            before = {id(o): (o.level, o.breaking_to) for o in self.live}
            breaks, waits = self.table.breaks_for_open(KEY, access, False, overwrite)
            self.notified += [(b.oplock, b.level) for b in breaks]
            # A holder loses rights, or is asked to, only by a break it is told of.
            told = {id(b.oplock) for b in breaks}
            for o in self.live:
                if (o.level, o.breaking_to) != before[id(o)]:
                    assert id(o) in told, f"{o} changed without a notification"
            if waits:
                self.table.defer(waits, lambda: self._attempt(requested, access, overwrite))
                return
            if overwrite:  # the contents are replaced: no cache of them survives
                assert all(o.level == LEVEL_NONE for o in self.live)
            self.live.append(self.table.grant(KEY, requested, access, False, None))

    @rule(requested=st.sampled_from([LEVEL_NONE, LEVEL_II, LEVEL_EXCLUSIVE, LEVEL_BATCH]),
          access=st.sampled_from([READ_WRITE, STAT, 0x1]), overwrite=st.booleans())
    def open(self, requested, access, overwrite):
        self._attempt(requested, access, overwrite)

    @precondition(lambda self: any(o.breaking_to is not None for o in self.live))
    @rule(data=st.data(), level=st.sampled_from([LEVEL_NONE, LEVEL_II]))
    def acknowledge(self, data, level):
        held = data.draw(st.sampled_from([o for o in self.live if o.breaking_to is not None]))
        broken_to = held.breaking_to
        assert self.table.acknowledge(held, level) == min(level, broken_to)

    @precondition(lambda self: any(o.breaking_to is None for o in self.live))
    @rule(data=st.data(), level=st.sampled_from([LEVEL_NONE, LEVEL_II]))
    def acknowledge_unasked(self, data, level):
        held = data.draw(st.sampled_from([o for o in self.live if o.breaking_to is None]))
        assert self.table.acknowledge(held, level) is None

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def time_out(self, data):
        self.table.time_out(data.draw(st.sampled_from(self.live)))

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def close(self, data):
        held = data.draw(st.sampled_from(self.live))
        self.live.remove(held)
        held.release()

    @rule()
    def write(self):
        """A write through any open: every read cache is told it is gone, the writer's too."""
        readers = [o for o in self.live if o.level == LEVEL_II]
        breaks = self.table.breaks_for_write(KEY)
        self.notified += [(b.oplock, b.level) for b in breaks]
        assert sorted(map(id, readers)) == sorted(id(b.oplock) for b in breaks)
        assert all(b.level == LEVEL_NONE for b in breaks)
        assert all(o.level != LEVEL_II for o in self.live)

    @invariant()
    def no_write_cache_beside_another_open(self):
        """A holder that may cache writes (EXCLUSIVE, BATCH) has the file to itself: an open
        that would share it waits until the break is answered (or times out)."""
        for held in self.live:
            if held.level in (LEVEL_EXCLUSIVE, LEVEL_BATCH):
                others = [o for o in self.live if o is not held and not o.stat_open]
                assert not others, f"{held} beside {others}"

    @invariant()
    def no_write_cache_beside_another_cache(self):
        for held in self.live:
            if held.level in (LEVEL_EXCLUSIVE, LEVEL_BATCH):
                assert all(o.level == LEVEL_NONE for o in self.live if o is not held)

    @invariant()
    def waiting_opens_wait_on_live_breaks(self):
        """Every open held back waits only on breaks still outstanding: none waits forever."""
        live = {id(o) for o in self.live if o.breaking_to is not None}
        for deferred in self.table._deferred:
            assert deferred.waiting_on and {id(o) for o in deferred.waiting_on} <= live


TestOplockMachine = OplockMachine.TestCase
TestOplockMachine.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
