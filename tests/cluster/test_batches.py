"""Several calls to one Dask task (simulator/task_batches.py ``Batches``, ``run_batch``): every call
runs once, in order; short calls share tasks, long ones do not; a call that raises keeps its
batch-mates' results."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibs.simulator import cluster
from ibs.simulator.task_batches import (
    BATCH_SECONDS,
    MIN_BATCH_SECONDS,
    SHARE,
    Batches,
    Done,
    Raised,
    dearest_first,
    run_batch,
)


def _work(costs, part):
    return sum(costs[i] for i in part) if costs else len(part)


@given(n=st.integers(0, 300), slots=st.lists(st.integers(1, 64), min_size=1),
       seconds=st.lists(st.floats(0.0001, 30.0), min_size=1),
       estimates=st.none() | st.lists(st.sampled_from([0.0, 0.5, 1.0, 7.0, 30.0, 210.0]),
                                     min_size=300, max_size=300))
def test_each_batch_is_the_longest_run_of_calls_that_fits_its_bounds(n, slots, seconds,
                                                                      estimates):
    costs = None if estimates is None else estimates[:n]
    weights = None  # estimates of 0 only say nothing; one of 0 among others is the least's
    if costs and any(costs):
        weights = [c or min(x for x in costs if x) for c in costs]
    plan = Batches(n, costs)
    parts: list[range] = []
    done_work = done_seconds = 0.0
    while (part := plan.next(slots[len(parts) % len(slots)])) is not None:
        s = slots[len(parts) % len(slots)]
        assert part.start == (parts[-1].stop if parts else 0) and len(part) >= 1
        left = _work(weights, range(part.start, n))
        most = left / (SHARE * s)
        if done_work and done_seconds:
            rate = done_seconds / done_work  # seconds a unit of work
            most = min(max(most, MIN_BATCH_SECONDS / rate), BATCH_SECONDS / rate)
        elif weights is None:
            most = 0.0  # nothing measured, nothing estimated: one call at a time
        bound = most * (1 + 1e-9)
        assert len(part) == 1 or _work(weights, part) <= bound
        assert part.stop == n or _work(weights, range(part.start, part.stop + 1)) > bound
        parts.append(part)
        took = seconds[len(parts) % len(seconds)] * len(part)
        plan.measured(part, took)
        done_work += _work(weights, part)
        done_seconds += took
    assert [i for p in parts for i in p] == list(range(n))


def test_estimates_size_the_first_batches_before_anything_is_measured():
    # Two dear calls and twelve cheap ones on 2 workers: each dear call alone, the cheap ones
    # several to a task from the start, as the estimated work left allows.
    plan = Batches(14, [30.0, 30.0] + [7.0] * 12)
    assert [len(plan.next(2)) for _ in range(4)] == [1, 1, 3, 2]


def test_calls_estimated_at_0_are_not_all_put_in_the_last_batch():
    plan = Batches(40, [10.0] * 20 + [0.0] * 20)
    sizes = [len(p) for p in iter(lambda: plan.next(2), None)]
    assert sum(sizes) == 40 and sizes[-1] == 1


def test_once_measured_a_batch_carries_at_least_the_least_worth_a_task():
    # Calls of 10 ms each: the tail is not cut into single calls that cost Dask as much as
    # they do.
    plan = Batches(100)
    plan.measured(range(1), 0.01)
    plan.sent = 1
    sizes = [len(p) for p in iter(lambda: plan.next(2), None)]
    assert min(sizes[:-1]) == round(MIN_BATCH_SECONDS / 0.01) and sum(sizes) == 99


def test_calls_of_seconds_each_stay_one_to_a_task():
    plan = Batches(100)
    plan.measured(range(1), 2.0)
    assert all(len(plan.next(2)) == 1 for _ in range(100))
    priced = Batches(100, [5.0] * 100)
    priced.measured(range(1), 2.0)
    assert all(len(priced.next(2)) == 1 for _ in range(100))


def test_a_call_that_raises_on_a_worker_keeps_its_place_and_its_neighbours():
    done = run_batch(divmod, [(7, 2), (1, 0), (9, 4)])
    results = done.results()
    assert results[0] == (3, 1) and results[2] == (2, 1) and done.seconds >= 0
    assert isinstance(results[1], Raised) and isinstance(results[1].error, ZeroDivisionError)
    assert "ZeroDivisionError" in results[1].trace


def test_a_batch_comes_home_as_bytes_that_dask_sizes_by_their_length():
    # Dask walks a result's nested lists and dicts to size it; pickled, it reads one length,
    # and still accounts for the memory the result holds on its worker.
    from dask.sizeof import sizeof

    results = [{"events": [{"t": i, "event": "backup started"} for i in range(2000)]}]
    done = Done(results, 0.25)
    assert done.results() == results and done.seconds == 0.25
    assert len(done.payload) <= sizeof(done) <= len(done.payload) + 200


@given(costs=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 30.0]), max_size=40))
def test_the_dearest_calls_go_first_and_equal_costs_keep_their_order(costs):
    order = dearest_first(len(costs), costs)
    assert sorted(order) == list(range(len(costs)))
    for a, b in itertools.pairwise(order):
        assert costs[a] > costs[b] or (costs[a] == costs[b] and a < b)
    assert dearest_first(len(costs), None) == list(range(len(costs)))


def test_costs_that_do_not_match_the_calls_are_refused():
    with pytest.raises(ValueError, match="2 costs for 3 calls"):
        dearest_first(3, [1.0, 2.0])
    with pytest.raises(ValueError, match="2 costs for 3 calls"):
        Batches(3, [1.0, 2.0])


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_a_cost_that_is_not_a_finite_number_at_least_0_is_refused(bad):
    with pytest.raises(ValueError, match="finite number >= 0"):
        dearest_first(3, [1.0, bad, 2.0])
    with pytest.raises(ValueError, match="finite number >= 0"):
        Batches(3, [1.0, bad, 2.0])


def spin(i: int) -> int:
    """About 20 ms of CPU: short enough to be batched."""
    end = time.thread_time() + 0.02
    while time.thread_time() < end:
        pass
    return i * i


@pytest.fixture(scope="module")
def local():
    with cluster.client(None, 2) as c:
        yield c


@pytest.mark.slow
def test_short_calls_share_dask_tasks_and_come_back_in_order(local):
    from distributed import get_task_stream

    seen: list[int] = []
    with get_task_stream(local) as stream:
        results = cluster.run_tasks(local, spin, [(i,) for i in range(60)], label="spin",
                                    on_result=lambda i, r: seen.append(i))
    assert results == [i * i for i in range(60)]
    assert sorted(seen) == list(range(60))  # every call reported once, as its batch came home
    assert len(stream.data) < 30  # 60 calls, far fewer tasks


@pytest.mark.slow
def test_a_raising_call_in_a_batch_is_raised_after_every_other_result_came_home(local):
    seen: list[int] = []
    tallies: list[tuple[int, int]] = []
    calls = [(i, 0 if i == 25 else 1) for i in range(40)]
    with pytest.raises(ZeroDivisionError) as raised:
        cluster.run_tasks(local, divmod, calls, label="div", on_result=lambda i, r: seen.append(i),
                          on_tally=lambda t: tallies.append((t.done, t.failed)))
    assert sorted(seen) == [i for i in range(40) if i != 25]
    assert tallies[-1] == (39, 1)
    assert any("raised on a Dask worker" in note for note in raised.value.__notes__)


@pytest.mark.slow
def test_the_client_sends_a_batch_without_holding_it_10_ms(local):
    # Distributed's client batches its messages to the scheduler for 10 ms; a batch submitted
    # right after another waited that long before any worker could start it.
    assert local.scheduler_comm.interval <= cluster.SEND_SECONDS


def _trim_threshold() -> str | None:
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


@pytest.mark.slow
def test_local_workers_keep_mallocs_adaptive_mmap_threshold(local):
    # Dask's default sets MALLOC_TRIM_THRESHOLD_ in each worker, which turns glibc's adaptive
    # mmap threshold off: every multi-MiB buffer is then a fresh, zero-filled mapping, 8 % of
    # the suite's CPU in a worker (simulator/cluster.py LOCAL_SETTINGS).
    assert set(local.run(_trim_threshold).values()) == {None}


@pytest.mark.slow
def test_costs_send_the_dearest_call_first_and_results_keep_call_order(local):
    started: list[int] = []
    costs = [1.0] * 10 + [50.0] + [1.0] * 9
    results = cluster.run_tasks(local, spin, [(i,) for i in range(20)], label="cost",
                                on_start=started.append, costs=costs)
    assert results == [i * i for i in range(20)]
    # One call to each of the two workers first: the dearest, then the first of the rest.
    assert set(started[:2]) == {10, 0} and sorted(started) == list(range(20))
