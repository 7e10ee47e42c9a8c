"""The rare states a fuzzing campaign must reach: "sometimes" assertions, counted per campaign.

An invariant says what must always hold; a reach row says what must happen at least once in a
campaign, because the bugs live there (a crash while the manifest is written, a certificate
rotated under a running job). A campaign that never got there proved nothing about it, however
long it ran. The state machine (scenarios/fuzz.py) calls ``sometimes`` where a row is reached;
``ibs fuzz`` prints the table and the CI campaign (tests/fuzz/) fails on any row missed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from ibs.simulator.crashpoints import PHASES

#: Every row, in the order the table shows them.
ROWS: tuple[str, ...] = (
    *(f"crash in phase: {phase}" for phase in PHASES),
    "share filled mid-write",
    "ERCS failover while a job runs",
    "certificate rotated while a job runs",
    "credentials changed while a job runs",
    "retention lowered while a job runs",
    "newest backup tampered",
    "oldest backup tampered",
    "update window at a scheduled time",
    "oldest kept backup recovered",
)


class Reach:
    """How many times each row was reached."""

    def __init__(self, counts: Mapping[str, int] | None = None) -> None:
        self.counts: Counter[str] = Counter()
        if counts:
            self.merge(counts)

    def sometimes(self, row: str, condition: bool = True) -> None:
        if row not in ROWS:
            raise KeyError(f"{row!r} is not a reach row (scenarios/fuzz_reach.py ROWS)")
        if condition:
            self.counts[row] += 1

    def merge(self, counts: Mapping[str, int]) -> None:
        self.counts.update({row: n for row, n in counts.items() if row in ROWS})

    def reset(self) -> None:
        self.counts.clear()

    def missed(self, rows: Iterable[str] = ROWS) -> list[str]:
        return [row for row in rows if not self.counts[row]]

    def table(self) -> str:
        width = max(map(len, ROWS))
        lines = [f"{'reach (rare state)':<{width}}  times"]
        lines += [f"{row:<{width}}  {self.counts[row] or 'MISSED'}" for row in ROWS]
        return "\n".join(lines)

    def summary(self) -> str:
        """One short phrase for progress lines."""
        return f"reach {len(ROWS) - len(self.missed())}/{len(ROWS)}"


#: The campaign this process runs: state machines report here, ``ibs fuzz`` prints it.
REACH = Reach()
