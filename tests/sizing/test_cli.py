"""``ibs sizing`` through the installed console script: formats, files, and bad input."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

IBS = str(Path(sys.executable).with_name("ibs"))
GB = 10**9


def ibs(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([IBS, "sizing", "--start-date", "2026-01-01", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_json_defaults_to_stdout() -> None:
    data = json.loads(ibs("--format", "json").stdout)
    for key in ("perBackupBytes", "backupsKept", "requiredBytes", "peakBytes", "table", "inputs",
                "headroomBytes", "runsOutOn", "occupancy"):
        assert key in data
    assert (data["perBackupBytes"], data["backupsKept"], data["requiredBytes"],
            data["peakBytes"], data["onDemandPeakBytes"]) == (20 * GB, 14, 280 * GB, 280 * GB,
                                                             300 * GB)
    assert data["inputs"]["frequencyHours"] == 12 and data["inputs"]["retentionDays"] == 7
    assert data["inputs"]["startDate"] == "2026-01-01"
    assert data["headroomBytes"] is None and data["runsOutOn"] is None
    assert len(data["occupancy"]) == 365
    assert {"day", "date", "bytes", "peakBytes"} <= data["occupancy"][0].keys()
    row = next(r for r in data["table"] if (r["frequencyHours"], r["retentionDays"]) == (12, 7))
    assert (row["backupsKept"], row["requiredBytes"], row["peakBytes"]) == (14, 280 * GB, 280 * GB)
    assert "onDemandPeakBytes" not in row  # the table stays scheduled-only


@pytest.mark.parametrize(("args", "required"), [
    (["--hub", "asdk"], 140 * GB), (["--hub", "4", "--identity", "AzureAD"], 14 * GB),
    (["--frequency-hours", "4", "--retention-days", "14"], 1680 * GB),
    (["--backup-size-gb", "2.5"], 35 * GB)])
def test_reference_cases(args: list[str], required: int) -> None:
    assert json.loads(ibs("--format", "json", *args).stdout)["requiredBytes"] == required


def test_capacity_and_growth() -> None:
    data = json.loads(ibs("--format", "json", "--share-capacity-gb", "400",
                          "--growth-pct-per-year", "15", "--years", "3").stdout)
    assert data["headroomBytes"] == 400 * GB - data["peakBytes"] < 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", data["runsOutOn"])
    roomy = json.loads(ibs("--format", "json", "--share-capacity-gb", "1000").stdout)
    assert roomy["headroomBytes"] == 720 * GB and roomy["runsOutOn"] is None


def test_csv_parses(tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(ibs("--format", "csv").stdout)))
    assert len(rows) == 9 * 13
    assert set(rows[0]) >= {"frequencyHours", "retentionDays", "backupsKept", "requiredBytes",
                            "peakBytes"}
    r = next(r for r in rows if (r["frequencyHours"], r["retentionDays"]) == ("4", "14"))
    assert (r["backupsKept"], r["requiredBytes"]) == ("84", str(1680 * GB))
    out = tmp_path / "t.csv"
    ibs("--format", "csv", "--out", str(out))
    assert list(csv.DictReader(out.open())) == rows


def test_md_writes_png_beside(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    ibs("--format", "md", "--out", str(out), "--share-capacity-gb", "500")
    png = tmp_path / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = out.read_text()
    assert "](report.png)" in md
    assert "280 GB" in md and "300 GB" in md and "14 backups" in md
    assert "A full backup every 12 hours kept for 7 days means 14 backups" in md
    assert "deletes expired backups before it writes the next one, so the share holds at most " \
        "14 backups: 280 GB" in md
    assert "One on-demand backup between two scheduled ones adds 20 GB until it expires" in md
    assert "| With one on-demand backup | **300 GB** |" in md
    assert "| Peak during a write | **280 GB** |" in md
    # stdout md: no chart file, same figures
    assert "280 GB" in ibs().stdout


def test_a_share_of_exactly_the_peak_holds_and_one_on_demand_backup_is_recommended() -> None:
    md = ibs("--hub", "4", "--share-capacity-gb", "280").stdout
    assert "| Peak during a write | **280 GB** |" in md
    assert "A share exactly as large as the peak holds the schedule" in md
    # The claim above, with the figures: a 280 GB share never runs out, yet has no spare room.
    assert "A share of 280 GB leaves 0 B of headroom at that peak: it does not run out within " \
        "1 year, but it has no room for an on-demand backup at the peak." in md
    assert "| Share runs out | **Never** |" in md
    assert "Recommended share size: 300 GB (the peak, plus room for one on-demand backup)." in md
    assert "| Recommended share | **300 GB** | peak + one on-demand backup |" in md


def test_html_is_self_contained(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    ibs("--format", "html", "--out", str(out), "--share-capacity-gb", "300",
        "--growth-pct-per-year", "10", "--years", "2")
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "@import" not in html and "url(http" not in html
    assert re.search(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', html)
    assert not list(tmp_path.glob("*.png"))  # nothing beside it
    for text in ("280 GB", "14", "Headroom", "Share runs out", "current policy",
                 "With one on-demand backup",
                 "A full backup every 12 hours kept for 7 days means 14 backups"):
        assert text in html
    assert 'class="policy' in html and " over" in html


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    ibs("--out", str(a), "--growth-pct-per-year", "7")
    ibs("--out", str(b), "--growth-pct-per-year", "7")
    assert a.read_text().replace("(a.png)", "(b.png)") == b.read_text()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    h1, h2 = (ibs("--format", "html", "--share-capacity-gb", "300").stdout for _ in range(2))
    assert h1 == h2


@pytest.mark.parametrize(("args", "bounds"), [
    (["--frequency-hours", "3"], ("4", "12")), (["--frequency-hours", "13"], ("4", "12")),
    (["--retention-days", "1"], ("2", "14")), (["--retention-days", "15"], ("2", "14")),
    (["--growth-pct-per-year", "-1"], ("0", "1000")),
    (["--growth-pct-per-year", "1001"], ("0", "1000")),
    (["--years", "0"], ("1", "10")), (["--years", "11"], ("1", "10")),
    (["--backup-size-gb", "0"], ("greater than 0",)),
    (["--share-capacity-gb", "-1"], ("greater than 0",)),
    (["--env", "big"], ("asdk", "4-16-aad")),
    (["--hub", "asdk", "--backup-size-gb", "3"], ("not allowed with",)),
    (["--hub", "3"], ("asdk", "4 to 16")),
    (["--frequency-hours", "x"], ("invalid int",)),
])
def test_bad_input_exits_2(args: list[str], bounds: tuple[str, ...]) -> None:
    proc = ibs(*args, ok=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    for b in bounds:
        assert b in err, err
    assert proc.stdout == ""


@pytest.mark.parametrize("capacity,runs_out", [("280", "never"), ("279", "2026-01-08")])
def test_check_prints_both_answers_side_by_side(capacity: str, runs_out: str) -> None:
    out = ibs("--share-capacity-gb", capacity, "--days", "20", "--check").stdout
    assert re.search(r"runs out\s+│\s+" + runs_out + r"\s+│\s+" + runs_out, out), out
    assert "sizing" in out and "simulation" in out and "agree" in out


def test_check_fails_when_the_answers_disagree(monkeypatch, capsys) -> None:
    import datetime as dt

    from ibs.simulator import crosscheck
    from ibs.simulator import sizing_cli as check

    fake = crosscheck.CrossCheck(
        280 * GB, 20, crosscheck.Answer(280 * GB, None, 14),
        crosscheck.Answer(260 * GB, dt.date(2026, 1, 8), 13), [("run-out day: sizing never, "
                                                              "simulation 2026-01-08")])
    monkeypatch.setattr(crosscheck, "cross_check", lambda inputs, **kw: fake)
    from ibs.simulator.sizing import SizingInputs

    assert check.run_check(SizingInputs(start=dt.date(2026, 1, 1), days=20)) == 1
    assert "DISAGREE: run-out day" in capsys.readouterr().err


def test_same_inputs_as_the_simulator() -> None:
    data = json.loads(ibs("--format", "json", "--growth-gb-per-day", "0.5", "--share-used-gb", "30",
                          "--share-capacity-gb", "400", "--link-mb-per-second", "50",
                          "--days", "30").stdout)
    assert data["inputs"]["growthGbPerDay"] == 0.5 and data["inputs"]["days"] == 30
    assert data["shareUsedBytes"] == 30 * GB
    assert data["recommendedBytes"] == data["onDemandPeakBytes"] + 30 * GB
    assert data["jobSeconds"] == 10 * 120 + data["finalPerBackupBytes"] / 50e6
    assert data["headroomBytes"] == 400 * GB - 30 * GB - data["peakBytes"]


def test_sizing_and_simulate_take_the_same_inputs() -> None:
    shared = ("--frequency-hours", "--retention-days", "--growth-pct-per-year",
              "--growth-gb-per-day", "--share-used-gb", "--link-mb-per-second",
              "--share-capacity-gb")
    for command in ("sizing", "simulate"):
        text = subprocess.run([IBS, command, "--help"], capture_output=True, text=True,
                              timeout=60, check=False).stdout
        assert all(flag in text for flag in shared), (command, text)
