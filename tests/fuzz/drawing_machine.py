"""A fuzz state machine that only writes down what hypothesis drew for it, so a test can tell
whether two batches ran the same programs (tests/fuzz/test_batch_seeds.py)."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

DRAWN: list[int] = []


class DrawingMachine(RuleBasedStateMachine):
    @rule(n=st.integers(0, 2**32))
    def draw(self, n):
        DRAWN.append(n)
