"""The job history's in-memory cache says what the files say, whoever saved last.

The controller answers `ibs backup list`, pruning and the scheduler from this cache; a cache
that missed a save would show a finished backup as running, or prune one it should keep.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine.history import BackupRecord, History
from ibs.engine.store import Store

STATUSES = ["Queued", "Running", "Succeeded", "Failed", "PartialSucceeded", "Deleted"]

steps = st.lists(st.tuples(st.integers(0, 2),  # which History saves (two share one Store)
                           st.integers(0, 4),  # which record
                           st.sampled_from(STATUSES),
                           st.booleans()),  # ask first (so the cache is loaded and then kept)
                 max_size=30)


def view(history: History) -> list[tuple[str, str, str]]:
    return [(r.id, r.status, r.createdDateTime) for r in history.all()]


@settings(max_examples=60, deadline=None)
@given(steps, st.booleans())
def test_every_history_sees_every_save(tmp_path_factory, script, private):
    root = tmp_path_factory.mktemp("store")
    store = Store(str(root), durable=False, private=private)
    histories = [History(store), History(store), History(Store(str(root), durable=False))]
    for who, which, status, ask in script:
        if private and who == 2:
            who = 0  # a private store promises that nobody else writes its files
        history = histories[who]
        if ask:
            history.status_of(f"id{which}")
        record = history.get(f"id{which}") or BackupRecord(
            id=f"id{which}", status="Queued", trigger="Scheduled",
            createdDateTime=f"2026-01-0{which + 1}T00:00:00.000000Z")
        record.status = status
        history.save(record)
        files = History(Store(str(root), durable=False))  # a fresh reader: the files' word
        # The two sharing this Store and the fresh reader agree; the third History has its own
        # Store, which (not private) reads the files too.
        for h in histories:
            if h._store is store or not private:
                assert view(h) == view(files)
                assert h.status_of(f"id{which}") == status
                assert [r.id for r in h.unfinished()] == [r.id for r in files.unfinished()]
