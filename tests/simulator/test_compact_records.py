"""What a run keeps in a compact form answers every reader as the plain form it stands for.

A simulated year keeps thousands of samples, snapshots and records; each is kept as numbers or
tuples rather than as objects of its own (fewer objects for the garbage collector to count and
walk). Each test here runs the compact keeper and the plain one it replaced on the same inputs.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.simulator.clock import TICKS_PER_SECOND
from ibs.simulator.meter import ShareMeter

_samples = st.lists(st.tuples(st.integers(0, 10**14), st.integers(0, 2**62),
                              st.integers(0, 10**15)), max_size=60)


@settings(max_examples=300)
@given(_samples)
def test_the_meter_keeps_the_samples_peak_and_budget_a_plain_list_would(samples):
    meter = ShareMeter()
    occupancy, peak, peak_budget = [(0.0, 0)], 0, 0  # the plain meter, a tuple per sample
    at = 0
    for step, used, budget in samples:
        at += step
        meter.sample(at, used, lambda budget=budget: budget)
        if used > peak:
            peak, peak_budget = used, budget
        if used != occupancy[-1][1]:
            occupancy.append((at / TICKS_PER_SECOND, used))
    assert meter.occupancy == occupancy
    assert [type(s) for pair in meter.occupancy for s in pair] == [float, int] * len(occupancy)
    assert (meter.peak_bytes, meter.peak_budget_bytes) == (peak, peak_budget)

