"""A fuzz batch's seed chooses its programs, in CI as anywhere else.

Hypothesis loads its "ci" profile wherever a CI variable is set, and that profile derandomizes:
a batch seeded through ``hypothesis.core.global_force_seed`` then ran the same programs for every
seed, and the CI campaign reached the rows of one batch, forty times over.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import settings

from ibs.scenarios.tasks import fuzz_batch

from .drawing_machine import DRAWN

MACHINE = "tests.fuzz.drawing_machine:DrawingMachine"


def drawn_by(seed: int, programs: int = 5) -> list[int]:
    DRAWN.clear()
    found = fuzz_batch(seed, "sim", 20, programs, None, machine=MACHINE)
    assert found["failure"] is None
    return list(DRAWN)


@pytest.fixture(params=["default", "ci"])
def profile(request):
    before = settings._current_profile  # hypothesis keeps no public getter for the loaded name
    settings.load_profile(request.param)
    yield request.param
    settings.load_profile(before or "default")


def test_different_seeds_run_different_programs_and_one_seed_runs_the_same(profile):
    first = drawn_by(0)
    assert len(first) >= 5
    assert drawn_by(0) == first
    assert drawn_by(1) != first


def test_a_seed_draws_the_same_programs_whatever_the_process_imported(tmp_path, monkeypatch):
    """Hypothesis draws some constants from the "local" modules a process has imported: a CLI,
    a pytest run and a Dask worker import different ones, and one seed drew different programs
    in each (an external scheduler's reach table differed from a serial run's)."""
    before = drawn_by(3, programs=40)
    (tmp_path / "ibs_probe_constants.py").write_text(
        "VALUES = [" + ", ".join(str(4_000_000_000 - 7919 * i) for i in range(300)) + "]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import ibs_probe_constants  # noqa: F401  (only its constants matter)

    try:
        assert drawn_by(3, programs=40) == before
    finally:
        sys.modules.pop("ibs_probe_constants", None)
