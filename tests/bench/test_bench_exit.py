"""What `ibs bench` exits with (issue 17, point 12): no KIND lists the kinds and exits 2; every
kind exits 1 when a target it checks fails, 0 with --no-check (the report still says FAIL).

The measurement of each kind is replaced by a report with one failed target: what is under test
is the command's verdict, not the machine's speed (tests/bench/test_bench*.py measure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ibs.engine.cli.app import main
from ibs.scenarios.bench import KINDS
from ibs.scenarios.bench.all_bench import AllReport
from ibs.scenarios.bench.common import Report, Target

FAILED = Target("made-up speed target", 0.5, ">= 2x", False, "half as fast")
HELD = Target("made-up memory target", 1.0, "<= 1x", True, "as small")

# kind: (the function it measures with, its cheapest arguments)
MEASURES = {
    "engine": ("ibs.scenarios.bench.engine_bench.run_engine_bench",
               ["--size-mib", "1", "--small-files", "0"]),
    "smb": ("ibs.scenarios.bench.smb_bench.run_smb_bench", ["--size-mib", "1"]),
    "sim": ("ibs.scenarios.bench.sim_bench.run_sim_bench", ["--days", "1", "--hub", "asdk"]),
    "rp": ("ibs.scenarios.bench.rp_bench.run_rp_bench", ["--seconds", "0.1"]),
    "cluster": ("ibs.scenarios.bench.cluster_bench.run_cluster_bench", []),
    "fuzz": ("ibs.scenarios.bench.fuzz_bench.run_fuzz_bench", ["--batches", "1"]),
    "scenario": ("ibs.scenarios.bench.scenario_bench.run_scenario_bench",
                 ["--events", "1", "--days", "1"]),
    "all": ("ibs.scenarios.bench.all_bench.run_all_bench", ["--size-mib", "1", "--sim-days", "1"]),
}


def _report(kind: str, targets: list[Target]):
    if kind == "all":
        report = AllReport(1, 1.0, 1)
        report.targets = [("engine", t) for t in targets]
        return report
    return Report(kind, 1, "made up", targets=list(targets))


def _bench(monkeypatch, tmp_path: Path, kind: str, targets: list[Target], *extra: str) -> int:
    target, args = MEASURES[kind]
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(f"{module}.{name}", lambda *a, **k: _report(kind, targets))
    return main(["bench", kind, *args, "--report-dir", str(tmp_path), *extra])


def test_every_kind_is_covered() -> None:
    assert set(MEASURES) == {kind for kind, _ in KINDS}


@pytest.mark.parametrize("kind", sorted(MEASURES))
def test_a_failed_target_exits_1_and_is_named(kind, monkeypatch, tmp_path, capsys) -> None:
    assert _bench(monkeypatch, tmp_path, kind, [HELD, FAILED]) == 1
    err = capsys.readouterr().err
    assert "1 of 2 targets failed" in err and "made-up speed target" in err


@pytest.mark.parametrize("kind", sorted(MEASURES))
def test_no_check_only_measures(kind, monkeypatch, tmp_path, capsys) -> None:
    assert _bench(monkeypatch, tmp_path, kind, [HELD, FAILED], "--no-check") == 0
    assert "not checked: --no-check" in capsys.readouterr().err
    data = json.loads((tmp_path / f"bench-{kind}.json").read_text())
    assert data["passed"] is False  # the report still says so


@pytest.mark.parametrize("kind", sorted(MEASURES))
def test_targets_that_hold_exit_0(kind, monkeypatch, tmp_path) -> None:
    assert _bench(monkeypatch, tmp_path, kind, [HELD]) == 0


def test_no_kind_lists_the_kinds_and_exits_2(capsys) -> None:
    assert main(["bench"]) == 2
    out, err = capsys.readouterr()
    for kind, _ in KINDS:
        assert f"ibs bench {kind} " in out
    assert err.startswith("ibs: bench needs a KIND")


def test_old_option_names_still_work(monkeypatch, tmp_path, capsys) -> None:
    seen = {}

    def measure(days, nodes, *a, **k):
        seen["nodes"] = nodes
        return _report("sim", [HELD])

    monkeypatch.setattr("ibs.scenarios.bench.sim_bench.run_sim_bench", measure)
    assert main(["bench", "sim", "--days", "1", "--nodes", "1", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "ibs: --nodes is now --hub" in err and "ibs: --out is now --report-dir" in err
    assert seen["nodes"] == 1 and (tmp_path / "bench-sim.json").is_file()
    assert main(["bench", "sim", "--days", "1", "--hub", "12", "--report-dir", str(tmp_path)]) == 0
    assert seen["nodes"] == 12
