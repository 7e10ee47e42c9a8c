"""LockSequence replay detection (fake_smb/lock_sequence.py) as a property over request histories.

A LOCK is a replay exactly when the last request of its bucket carried the same value and
succeeded; buckets outside 1..64, or a connection without multichannel, never replay.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ibs.fake_smb import lock_sequence

# (bucket, value, whether the LOCK succeeds if carried out): few buckets and values, so that
# histories revisit them; 0 and 65 are outside the valid buckets.
_request = st.tuples(st.sampled_from([0, 1, 2, 64, 65]), st.integers(0, 3), st.booleans())


@given(st.lists(_request, max_size=40), st.booleans())
def test_a_replay_is_the_repeat_of_its_buckets_last_success(history, multichannel):
    entry: dict = {}
    last: dict[int, tuple[int, bool]] = {}  # bucket -> (value, succeeded) of its last request
    for bucket, value, succeeds in history:
        sequence = lock_sequence.checked(entry, bucket << 4 | value, multichannel)
        if not multichannel or not 1 <= bucket <= 64:
            assert sequence is None
            continue
        expected = last.get(bucket) == (value, True)
        assert sequence.replayed == expected
        if expected:
            continue  # answered without being carried out: the bucket is as it was
        sequence.begin()
        lock_sequence.on_success(sequence)(0 if succeeds else 0xC0000055)
        last[bucket] = (value, succeeds)
