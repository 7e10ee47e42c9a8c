"""The byte-range lock table (fake_smb/locks.py) and LOCK request checks, without a server.

The expectations are what Samba answers in smbtorture's smb2.lock suite; over the wire
they are held by test_locks_wire.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from impacket.nt_errors import (
    STATUS_CANCELLED,
    STATUS_INVALID_LOCK_RANGE,
    STATUS_INVALID_PARAMETER,
    STATUS_LOCK_NOT_GRANTED,
    STATUS_RANGE_NOT_LOCKED,
    STATUS_SUCCESS,
)

from ibs.fake_smb.lock_handler import EXCLUSIVE, FAIL_IMMEDIATELY, SHARED, UNLOCK, Plan, plan
from ibs.fake_smb.locks import LockOwner, LockTable, Range, Waiter

KEY = (1, 2)
EX, SH = True, False


def _owners(n: int = 2):
    table = LockTable()
    return table, [LockOwner(table, KEY) for _ in range(n)]


# smbtorture smb2.lock.zerobytelength: (first lock, second lock, granted?) for two
# exclusive locks, whether on one open or two.
ZERO_BYTE = [
    ((10, 0), (10, 0), True), ((10, 0), (9, 1), True), ((10, 0), (10, 1), True),
    ((10, 0), (11, 1), True), ((10, 0), (9, 2), False), ((10, 0), (10, 2), True),
    ((10, 0), (9, 3), False), ((9, 1), (10, 0), True), ((10, 1), (10, 0), True),
    ((11, 1), (10, 0), True), ((9, 2), (10, 0), False), ((10, 2), (10, 0), True),
    ((9, 3), (10, 0), False), ((0, 0), (0, 0), True),
]


@pytest.mark.parametrize("same_open", [True, False])
@pytest.mark.parametrize(("first", "second", "granted"), ZERO_BYTE)
def test_zero_length_locks_conflict_only_with_a_range_strictly_around_them(first, second, granted, same_open):
    table, (a, b) = _owners()
    assert table.lock(a, [Range(*first, EX)]) == STATUS_SUCCESS
    status = table.lock(a if same_open else b, [Range(*second, EX)])
    assert status == (STATUS_SUCCESS if granted else STATUS_LOCK_NOT_GRANTED)


def test_stacking_on_one_open_as_samba():
    table, (a, b) = _owners()
    r = Range(0, 10, EX)
    assert table.lock(a, [r]) == STATUS_SUCCESS
    assert table.lock(a, [r]) == STATUS_LOCK_NOT_GRANTED  # two exclusive never stack
    assert table.lock(a, [Range(0, 10, SH)]) == STATUS_SUCCESS  # shared on its own exclusive
    assert table.lock(b, [Range(0, 10, SH)]) == STATUS_LOCK_NOT_GRANTED  # not on another's
    # The exclusive goes first: then another open may share the range.
    assert table.unlock(a, [Range(0, 10)]) == STATUS_SUCCESS
    assert table.lock(b, [Range(0, 10, SH)]) == STATUS_SUCCESS
    assert table.unlock(a, [Range(0, 10)]) == STATUS_SUCCESS
    assert table.unlock(a, [Range(0, 10)]) == STATUS_RANGE_NOT_LOCKED


def test_an_exclusive_lock_does_not_stack_on_a_shared_one_of_the_same_open():
    table, (a, _) = _owners()
    assert table.lock(a, [Range(0, 10, SH)]) == STATUS_SUCCESS
    assert table.lock(a, [Range(0, 10, EX)]) == STATUS_LOCK_NOT_GRANTED


def test_ranges_reaching_past_the_64_bit_offset_space_are_invalid():
    table, (a, _) = _owners()
    top = (1 << 64) - 1
    assert table.lock(a, [Range(top, 1, EX)]) == STATUS_SUCCESS  # ends exactly at 2**64
    assert table.lock(a, [Range(top, 2, EX)]) == STATUS_INVALID_LOCK_RANGE
    assert table.lock(a, [Range(top, top, EX)]) == STATUS_INVALID_LOCK_RANGE
    assert table.lock(a, [Range(top, 0, EX)]) == STATUS_SUCCESS


def test_unlock_stops_at_the_first_element_that_fails_and_keeps_what_it_did():
    """smbtorture smb2.lock.multiple-unlock."""
    table, (a, _) = _owners()
    table.lock(a, [Range(10, 10, EX)])
    assert table.unlock(a, [Range(0, 10), Range(10, 10)]) == STATUS_RANGE_NOT_LOCKED
    assert table.lock(a, [Range(10, 10, EX)]) == STATUS_LOCK_NOT_GRANTED  # still held
    table.lock(a, [Range(0, 10, EX)])
    assert table.unlock(a, [Range(0, 10), None]) == STATUS_INVALID_PARAMETER
    assert table.unlock(a, [Range(0, 10)]) == STATUS_RANGE_NOT_LOCKED  # the first went


class _Answers:
    def __init__(self) -> None:
        self.pending: list[int] = []
        self.final: list[int] = []

    def wait_for(self, owner, wanted, message_id=1):
        def wait(async_id):
            self.pending.append(async_id)
            return Waiter(owner, wanted, "conn", message_id, async_id, self.final.append)
        return wait


def test_a_waiting_request_is_granted_when_the_range_frees_and_not_before():
    table, (a, b) = _owners()
    answers = _Answers()
    table.lock(a, [Range(100, 10, EX)])
    assert table.lock(b, [Range(105, 10, EX)], answers.wait_for(b, Range(105, 10, EX))) is None
    assert len(answers.pending) == 1 and answers.final == []
    table.lock(a, [Range(0, 10, EX)])
    table.unlock(a, [Range(0, 10)])  # an unrelated range frees: still waiting
    assert answers.final == []
    assert table.unlock(a, [Range(100, 10)]) == STATUS_SUCCESS
    assert answers.final == [STATUS_SUCCESS]
    assert table.lock(a, [Range(105, 1, SH)]) == STATUS_LOCK_NOT_GRANTED  # b holds it now
    assert table.waiting() == 0


def test_a_waiting_request_is_cancelled_by_its_async_id_or_failed_by_its_close():
    table, (a, b) = _owners()
    answers = _Answers()
    table.lock(a, [Range(0, 10, EX)])
    table.lock(b, [Range(0, 10, EX)], answers.wait_for(b, Range(0, 10, EX), message_id=7))
    assert not table.cancel("other-conn", async_id=answers.pending[0])
    assert table.cancel("conn", async_id=answers.pending[0])
    assert answers.final == [STATUS_CANCELLED]
    # A CANCEL sent before the interim answer came names the request by its MessageId.
    table.lock(b, [Range(0, 10, EX)], answers.wait_for(b, Range(0, 10, EX), message_id=9))
    assert not table.cancel("conn", message_id=8)
    assert table.cancel("conn", message_id=9)
    table.lock(b, [Range(0, 10, EX)], answers.wait_for(b, Range(0, 10, EX), message_id=8))
    b.release()
    assert answers.final == [STATUS_CANCELLED, STATUS_CANCELLED, STATUS_RANGE_NOT_LOCKED]
    table.unlock(a, [Range(0, 10)])
    assert not table.has_locks(KEY)  # neither request took the range on its way out


def test_closing_an_open_lets_the_waiting_requests_of_others_through():
    table, (a, b) = _owners()
    answers = _Answers()
    table.lock(a, [Range(0, 10, EX), Range(20, 10, SH)])
    table.lock(b, [Range(5, 20, EX)], answers.wait_for(b, Range(5, 20, EX)))
    a.release()
    assert answers.final == [STATUS_SUCCESS]


ranges = st.tuples(st.integers(0, 200), st.integers(0, 50))


@given(st.lists(st.tuples(st.integers(0, 3), ranges), max_size=12))
def test_shared_locks_never_conflict_and_stop_every_write_but_no_read(locks):
    table, owners = _owners(4)
    for who, (offset, length) in locks:
        assert table.lock(owners[who], [Range(offset, length, SH)]) == STATUS_SUCCESS
    for who, (offset, length) in locks:
        for reader in owners:
            assert not table.io_conflict(KEY, reader, offset, length, write=False)
        if length:
            assert table.io_conflict(KEY, owners[who], offset, length, write=True)


@given(st.lists(st.tuples(ranges, st.booleans()), max_size=10), st.randoms())
def test_unlocking_every_granted_lock_in_any_order_empties_the_table(requests, rnd):
    table, (a, _) = _owners()
    granted = [Range(o, n) for (o, n), ex in requests if table.lock(a, [Range(o, n, ex)]) == STATUS_SUCCESS]
    rnd.shuffle(granted)
    for r in granted:
        assert table.unlock(a, [r]) == STATUS_SUCCESS
    assert not table.has_locks(KEY)


@given(st.lists(ranges, min_size=1, max_size=6), st.lists(ranges, min_size=1, max_size=6))
def test_a_lock_request_that_fails_takes_nothing(held, wanted):
    table, (a, b) = _owners()
    for offset, length in held:
        table.lock(a, [Range(offset, length, SH)])

    def view():  # what the table tells READ and WRITE, probed over the whole space used
        return [table.io_conflict(KEY, b, o, 3, w) for o in range(0, 260, 3) for w in (False, True)]

    before = view()
    status = table.lock(b, [Range(o, n, EX) for o, n in wanted])
    if status != STATUS_SUCCESS:
        assert view() == before


# -- the checks of a LOCK request (lock_handler.plan) ----------------------------

@pytest.mark.parametrize("flags", [
    [0],  # no flag
    [UNLOCK | EXCLUSIVE], [UNLOCK | SHARED], [UNLOCK | FAIL_IMMEDIATELY],
    [SHARED | EXCLUSIVE], [~(SHARED | EXCLUSIVE | UNLOCK | FAIL_IMMEDIATELY) & 0xFFFFFFFF],
    [0, UNLOCK],  # a lock request with an unlock in it
    [EXCLUSIVE | FAIL_IMMEDIATELY, UNLOCK],
    [SHARED, SHARED | FAIL_IMMEDIATELY],  # a blocking lock may not come with others
    [SHARED | FAIL_IMMEDIATELY, EXCLUSIVE],
])
def test_invalid_flag_combinations_are_invalid_parameter(flags):
    assert plan([(0, 1, f) for f in flags]) == STATUS_INVALID_PARAMETER


def test_a_later_bad_element_of_an_unlock_fails_only_when_reached():
    p = plan([(0, 1, UNLOCK), (5, 1, 0)])
    assert isinstance(p, Plan) and p.unlock and p.ranges == [Range(0, 1), None]


def test_only_a_lone_lock_without_fail_immediately_blocks():
    assert plan([(0, 1, EXCLUSIVE)]).blocking
    assert not plan([(0, 1, EXCLUSIVE | FAIL_IMMEDIATELY)]).blocking
    two = plan([(0, 1, SHARED | FAIL_IMMEDIATELY), (5, 1, EXCLUSIVE | FAIL_IMMEDIATELY)])
    assert two.ranges == [Range(0, 1, SH), Range(5, 1, EX)] and not two.blocking


# -- any sequence of requests (hypothesis state machine) ----------------------------

def _conflict(older: tuple[LockOwner, Range], newer: tuple[LockOwner, Range]) -> bool:
    """Whether the newer lock may not join the older one: the rules stated once more."""
    (oa, ra), (ob, rb) = older, newer
    if not ra.overlaps(rb.offset, rb.length) or not (ra.exclusive or rb.exclusive):
        return False
    return not (oa is ob and ra.exclusive and not rb.exclusive)


class LockRequests(RuleBasedStateMachine):
    """Three opens lock, unlock, wait, cancel and close at random on one file."""

    def __init__(self) -> None:
        super().__init__()
        self.table = LockTable()
        self.opens = [LockOwner(self.table, KEY) for _ in range(3)]
        self.answers: dict[int, list[int]] = {}
        self.message_ids = iter(range(1, 10_000))

    @rule(who=st.integers(0, 2), where=ranges, exclusive=st.booleans(), blocking=st.booleans())
    def lock(self, who, where, exclusive, blocking):
        owner, wanted = self.opens[who], Range(*where, exclusive)
        wait = None
        if blocking:
            message_id = next(self.message_ids)
            self.answers[message_id] = []

            def wait(async_id):
                return Waiter(owner, wanted, "conn", message_id, async_id, self.answers[message_id].append)
        self.table.lock(owner, [wanted], wait)

    @rule(who=st.integers(0, 2), data=st.data())
    def unlock_a_held_range(self, who, data):
        mine = [r for o, r in self.table.snapshot(KEY)[0] if o is self.opens[who]]
        if mine:
            r = data.draw(st.sampled_from(mine))
            assert self.table.unlock(self.opens[who], [Range(r.offset, r.length)]) == STATUS_SUCCESS

    @rule(data=st.data())
    def cancel(self, data):
        waiting = self.table.snapshot(KEY)[1]
        if waiting:
            w = data.draw(st.sampled_from(waiting))
            assert self.table.cancel("conn", async_id=w.async_id)
            assert self.answers[w.message_id] == [STATUS_CANCELLED]

    @rule(who=st.integers(0, 2))
    def close(self, who):
        self.opens[who].release()
        self.opens[who] = LockOwner(self.table, KEY)  # the slot is reused by a new open

    @invariant()
    def no_two_held_locks_conflict(self):
        held = self.table.snapshot(KEY)[0]
        for i, a in enumerate(held):
            for b in held[i + 1:]:
                assert not _conflict(a, b), (a, b)

    @invariant()
    def every_waiting_request_is_really_blocked(self):
        held, waiting = self.table.snapshot(KEY)
        for w in waiting:
            assert any(w.owner is o for o in self.opens), w  # a closed open's request was answered
            assert any(_conflict(h, (w.owner, w.range)) for h in held), w
            assert self.answers[w.message_id] == []

    @invariant()
    def every_request_is_answered_at_most_once(self):
        assert all(len(a) <= 1 for a in self.answers.values())


test_any_sequence_of_lock_requests = LockRequests.TestCase
