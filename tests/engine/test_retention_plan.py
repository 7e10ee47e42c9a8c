"""Retention's plan is its rule, whatever the share holds (docs/REFERENCE.md, retention): every
backup at least the retention period old goes, but the newest Succeeded one (or one the history
does not know) stays whatever its age; leftovers always go, after the backups."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import given
from hypothesis import strategies as st

from ibs.engine import layout, retention
from ibs.engine.share.base import ShareStat

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
DAYS = 3


class _Listing:
    """A share that only lists its backup root (plan reads no manifest it was told the age of)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def describe(self) -> str:
        return "\\\\fs\\share"

    def stat(self, path: str) -> ShareStat:
        return ShareStat(0, True)

    def listdir(self, path: str) -> list[str]:
        return list(self.names)


class _Statuses:
    def __init__(self, statuses: dict[str, str | None]) -> None:
        self.statuses = statuses

    def statuses_of(self, backup_ids: list[str]) -> list[str | None]:
        return [self.statuses[b] for b in backup_ids]


_backup = st.tuples(
    # created: ages either side of the period, and alike (the newest is then the greatest id)
    st.sampled_from([0, 1, 24 * DAYS - 1, 24 * DAYS, 24 * DAYS + 1, 24 * (DAYS + 3)]).map(
        lambda h: NOW - dt.timedelta(hours=h)),
    st.sampled_from([None, "Succeeded", "PartialSucceeded", "Failed", "Deleted", "Running"]))


@given(st.lists(_backup, max_size=8), st.lists(st.sampled_from(
    [f"{layout.PARTIAL_PREFIX}{uuid.UUID(int=1)}", f"{layout.DELETING_PREFIX}{uuid.UUID(int=2)}",
     "notes.txt"]), unique=True, max_size=3), st.randoms())
def test_the_plan_follows_the_retention_rule(backups, others, random):
    ids = [str(uuid.UUID(int=random.getrandbits(128), version=4)) for _ in backups]
    names = ids + others
    random.shuffle(names)
    share = _Listing(names)
    times = retention.CreationTimes()
    for backup_id, (created, _) in zip(ids, backups, strict=True):
        times.remember(share, backup_id, created)  # type: ignore[arg-type]
    statuses = {b: status for b, (_, status) in zip(ids, backups, strict=True)}
    created = {b: when for b, (when, _) in zip(ids, backups, strict=True)}

    cutoff = NOW - dt.timedelta(days=DAYS)
    kept = max((b for b in ids if statuses[b] in (None, "Succeeded")),
               key=lambda b: (created[b], b), default=None)
    expected = ([layout.backup_dir(n) for n in names
                 if n in created and created[n] <= cutoff and n != kept]
                + [f"{layout.ROOT}/{n}" for n in names if layout.is_leftover_name(n)])
    assert retention.plan(share, times, _Statuses(statuses), NOW, DAYS) == expected  # type: ignore[arg-type]
