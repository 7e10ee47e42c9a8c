"""``ibs bench KIND -q`` and ``-v`` (issue 17): the steps a benchmark prints as it goes, gone or
announced as they start; the summary (the report's tables, its paths) in every case.

The measurement is a made-up one that runs its rounds through the benchmarks' own ``Steps``
and ``rounds_of``, so what is under test is what the command prints, not the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from ibs.engine.cli.app import main
from ibs.scenarios.bench.common import Report, Steps, Target
from ibs.scenarios.bench.rounds import rounds_of

HELD = Target("made-up target", 1.0, "<= 1x", True, "as small")


def _measure(days, nodes, console, **_kw) -> Report:
    rounds_of(Steps(console), "made-up hub", lambda tag: 0.0, rounds=2)
    return Report("sim", 1, "made up", targets=[HELD])


def _bench(monkeypatch, capsys, tmp_path: Path, *extra: str) -> list[str]:
    monkeypatch.setattr("ibs.scenarios.bench.sim_bench.run_sim_bench", _measure)
    assert main(["bench", "sim", "--days", "1", "--hub", "asdk", "--report-dir",
                 str(tmp_path), *extra]) == 0
    return capsys.readouterr().out.splitlines()


STEPS = ["made-up hub (warm-up)", "made-up hub (round 1/2)", "made-up hub (round 2/2)"]


def _summary(lines: list[str], tmp_path: Path) -> None:
    assert any("made-up target" in line and "PASS" in line for line in lines), lines
    text = "".join(lines)  # a long path wraps at 160 columns
    assert text.endswith(f"report: {tmp_path / 'bench-sim.md'} and {tmp_path / 'bench-sim.json'}")


def test_plain_prints_each_step_as_it_ends(monkeypatch, capsys, tmp_path) -> None:
    lines = _bench(monkeypatch, capsys, tmp_path)
    assert lines[0] == "ibs bench sim: 1 days, asdk hub"
    assert [line.rsplit(":", 1)[0] for line in lines[1:4]] == [f"  {s}" for s in STEPS]
    assert not any(line.endswith(" ...") for line in lines)
    _summary(lines, tmp_path)


def test_quiet_prints_only_the_summary(monkeypatch, capsys, tmp_path) -> None:
    lines = _bench(monkeypatch, capsys, tmp_path, "--quiet")
    assert not any("made-up hub" in line or line.startswith("ibs bench sim:") for line in lines)
    _summary(lines, tmp_path)


def test_verbose_announces_each_round_before_it_runs(monkeypatch, capsys, tmp_path) -> None:
    lines = _bench(monkeypatch, capsys, tmp_path, "-v")
    steps = [line for line in lines if "made-up hub" in line]
    assert [line.rsplit(":", 1)[0] if line.endswith(" s") else line for line in steps] == [
        f"  {s}{tail}" for s in STEPS for tail in (" ...", "")]
    _summary(lines, tmp_path)
    # The setting lasts one command: a plain run after it announces nothing.
    assert not Steps.announce
    assert not any(line.endswith(" ...") for line in _bench(monkeypatch, capsys, tmp_path))


def test_quiet_and_verbose_exclude_each_other(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "sim", "-q", "-v"])
    assert exit_.value.code == 2
    assert "not allowed with argument -q/--quiet" in capsys.readouterr().err
