"""A backup's status moves only as the table of legal transitions says (REFERENCE.md)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibs.engine.history import BackupRecord
from ibs.engine.jobstate import IllegalTransition, Status, transition

_TEXTS = st.sampled_from([s.value for s in Status] + ["Bogus", "queued", ""])


def _record(status: str) -> BackupRecord:
    return BackupRecord(id="a", status=status, trigger="Scheduled",
                        createdDateTime="2026-01-01T00:00:00.000000Z")


@given(current=_TEXTS, new=st.sampled_from(list(Status)))
def test_a_record_moves_exactly_where_the_transition_table_allows(current, new):
    # A record holds its status as text and moves by a table of texts: the answer (or the
    # error) must be the enum table's, for every status a stored record could hold.
    record = _record(current)
    try:
        expected: str | type[Exception] = transition(Status(current), new).value
    except (IllegalTransition, ValueError) as exc:
        expected = type(exc)
    if isinstance(expected, str):
        record.move_to(new)
        assert record.status == expected
    else:
        with pytest.raises(expected):
            record.move_to(new)
        assert record.status == current
