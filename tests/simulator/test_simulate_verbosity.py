"""``ibs simulate -q`` and ``-v`` (issue 17): the verdicts alone, or each event as it happens,
and the same run either way."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.engine.cli.app import main

RUN = ("simulate", "--hub", "asdk", "--days", "2.5", "--seed", "4")


def _simulate(capsys, *argv: str) -> tuple[str, str]:
    assert main([*RUN, *argv]) == 0
    out = capsys.readouterr()
    return out.out, out.err


def test_quiet_prints_the_verdict_lines_only(capsys):
    full, _ = _simulate(capsys, "--json")
    r = json.loads(full)
    out, err = _simulate(capsys, "--quiet")
    assert err == ""
    assert out.splitlines() == [
        f"backups: {r['backups']['Succeeded']} Succeeded",
        "share peak: 40.0 GB, within the budget of 140.0 GB",
        "recovery check: passed",
        "alerts: 0 raised, 0 active"]
    table, _ = _simulate(capsys)
    assert "budget (size x 24/f x d)" in table and "asdk hub" in table
    # --json is for machines: -q does not cut it.
    assert json.loads(_simulate(capsys, "--json", "-q")[0]) == r


def test_verbose_tells_each_event_in_order_and_runs_the_same_hub(capsys, tmp_path):
    _simulate(capsys, "--events-out", str(tmp_path / "plain.jsonl"))
    out, err = _simulate(capsys, "-v", "--events-out", str(tmp_path / "told.jsonl"))
    plain = (tmp_path / "plain.jsonl").read_text()
    assert (tmp_path / "told.jsonl").read_text() == plain
    events = [json.loads(line) for line in plain.splitlines()]
    lines = err.splitlines()
    assert len(lines) == len(events) >= 8
    for line, e in zip(lines, events, strict=True):
        stamp = e["at"].replace("T", " ").replace("Z", " UTC")
        assert line.startswith(f"{stamp}  {e['event']}  id {e['id'][:8]}  "), (line, e)
    assert lines[1].endswith("status Succeeded  size 10.0 GB")
    assert "asdk hub" in out  # the summary is still printed
    assert _simulate(capsys)[1] == ""


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.floats(0.2, 4.0).map(lambda d: round(d, 2)), seed=st.integers(0, 50))
def test_a_day_at_a_time_is_the_same_run(capsys, tmp_path, days, seed):
    """-v stops the hub at each virtual midnight to print; whatever the length and the seed,
    the run it tells is the run it would have been."""
    run = ["simulate", "--hub", "asdk", "--days", str(days), "--seed", str(seed), "--json"]
    assert main([*run, "--events-out", str(tmp_path / "a.jsonl")]) == 0
    whole = capsys.readouterr().out
    assert main([*run, "-v", "--events-out", str(tmp_path / "b.jsonl")]) == 0
    told = capsys.readouterr()
    assert told.out == whole
    assert (tmp_path / "b.jsonl").read_text() == (tmp_path / "a.jsonl").read_text()
    assert len(told.err.splitlines()) == len((tmp_path / "a.jsonl").read_text().splitlines())
