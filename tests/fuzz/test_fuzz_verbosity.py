"""``ibs fuzz -q`` and ``-v`` (issue 17): what a person sees change, line by line."""

from __future__ import annotations

import re

from ibs.engine.cli.app import main
from ibs.scenarios.fuzz_reach import REACH, ROWS

ARGS = ("fuzz", "--batches", "2", "--seed", "3", "--steps", "8")


def _fuzz(capsys, tmp_path, *argv: str) -> tuple[int, str, str]:
    REACH.reset()
    code = main([*ARGS, "--db", str(tmp_path / "db"), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_quiet_drops_progress_and_the_rows_reached_but_keeps_misses_and_replay(capsys,
                                                                              tmp_path):
    code, out, err = _fuzz(capsys, tmp_path)
    assert code == 0
    assert "fuzz batches: 2 done, 0 failed, 0 running" in err
    table = out.splitlines()
    reached = [row for row in ROWS if any(re.fullmatch(rf"{re.escape(row)} +\d+", line)
                                          for line in table)]
    missed = [row for row in ROWS if any(re.fullmatch(rf"{re.escape(row)} +MISSED", line)
                                         for line in table)]
    assert reached and missed  # seed 3 at 8 steps reaches some rows and misses others

    code, quiet, quiet_err = _fuzz(capsys, tmp_path, "--quiet")
    assert code == 0
    assert quiet_err == ""
    lines = quiet.splitlines()
    assert lines[:len(missed)] == [line for line in out.splitlines() if line.endswith("MISSED")]
    assert not any(line.startswith(row) for row in reached for line in lines)
    assert lines[len(missed):] == [
        "20 programs ran (sim fidelity, seeds 3..4, 10 programs a seed); every invariant held",
        "replay: ibs fuzz --seed 3 --batches 2 --fidelity sim --steps 8"]


def test_verbose_adds_a_line_per_batch(capsys, tmp_path):
    code, _out, err = _fuzz(capsys, tmp_path, "-v")
    assert code == 0
    batches = [line for line in err.splitlines() if line.startswith("batch seed ")]
    assert [line.split(":")[0] for line in batches] == ["batch seed 3", "batch seed 4"]
    assert all(re.fullmatch(r"batch seed \d: 10 programs, every invariant held, "
                            r"\d+ rare states reached", line) for line in batches), batches
    _code, _out, plain = _fuzz(capsys, tmp_path)
    assert "batch seed" not in plain


def test_verbose_in_a_timed_campaign_names_each_batch_as_it_ends(capsys, tmp_path):
    REACH.reset()
    code = main(["fuzz", "--minutes", "0.01", "--seed", "11", "--steps", "4",
                 "--db", str(tmp_path / "db"), "-v"])
    err = capsys.readouterr().err
    assert code == 0
    assert err.startswith("batch seed 11: 10 programs, every invariant held"), err
