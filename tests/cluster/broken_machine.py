"""A fuzz state machine with an invariant that breaks on purpose, so that a campaign has a failure
to carry home (tests/cluster/test_fuzz_on_dask.py)."""

from __future__ import annotations

from hypothesis.stateful import rule

from ibs.scenarios.fuzz import HubMachine


class BrokenMachine(HubMachine):
    def __init__(self) -> None:
        super().__init__()
        self.counted = 0

    @rule()
    def count(self):
        self.counted += 1
        assert self.counted < 3, "counted three times"
