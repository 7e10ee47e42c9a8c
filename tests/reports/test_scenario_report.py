"""The scenario-suite reports: every file is written, parses, says what failed, and is stable."""

from __future__ import annotations

import base64
import json
import re
import struct
import xml.etree.ElementTree as ET

import pytest

from ibs.reports.scenario_report import write_reports
from ibs.scenarios.loader import loads
from ibs.scenarios.runner import run_scenario

PASSING = """\
[scenario]
name = "tiny passing run"
description = "Two scheduled backups on a quiet day."
tags = ["smoke"]
hub = 4
days = 1.02
seed = 3

[[events]]
at = "2h"
do = "dns_fail"

[[events]]
at = "4h"
do = "dns_restore"

[expect]
backups = { Succeeded = 2 }
"""

FAILING = """\
[scenario]
name = "tiny failing run"
tags = ["smoke", "negative"]
hub = 4
days = 1.02
seed = 4

[[events]]
at = "1h"
do = "block_port_445"
action = "reject"

[expect]
backups = { Succeeded = 99 }
"""


@pytest.fixture(scope="module")
def results() -> list[dict]:
    out = [run_scenario(loads(PASSING, "tiny_pass.toml")).to_json(),
           run_scenario(loads(FAILING, "tiny_fail.toml")).to_json()]
    assert out[0]["passed"] and not out[1]["passed"]
    return out


@pytest.fixture(scope="module")
def written(results, tmp_path_factory) -> tuple[dict[str, str], str]:
    folder = tmp_path_factory.mktemp("rep") / "nested" / "out"
    extra = tmp_path_factory.mktemp("ci") / "junit" / "suite.xml"
    paths = write_reports(results, str(folder), junit=str(extra), run_info={"commit": "abc123"})
    return paths, str(extra)


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_all_files_exist(written):
    paths, extra = written
    assert set(paths) == {"html", "md", "json", "junit"}
    for key, name in (("html", "report.html"), ("md", "report.md"), ("json", "report.json"),
                      ("junit", "junit.xml")):
        assert paths[key].endswith(name)
        assert _read(paths[key])
    assert _read(extra) == _read(paths["junit"])


def test_json_round_trips_with_counts(written, results):
    doc = json.loads(_read(written[0]["json"]))
    assert doc["title"] == "ibs scenario suite"
    assert doc["runInfo"] == {"commit": "abc123"}
    assert doc["passed"] is False
    assert doc["counts"] == {"passed": 1, "failed": 1}
    assert doc["scenarios"] == json.loads(json.dumps(results))


def test_junit_has_one_failure_with_the_replay_command(written, results):
    root = ET.parse(written[0]["junit"]).getroot()
    assert root.tag == "testsuite"
    assert root.get("tests") == "2" and root.get("failures") == "1" and root.get("errors") == "0"
    cases = root.findall("testcase")
    assert [c.get("name") for c in cases] == ["tiny passing run", "tiny failing run"]
    assert [c.get("classname") for c in cases] == ["smoke", "smoke"]
    assert root.get("time") is None and all(c.get("time") is None for c in cases)
    failures = root.findall("testcase/failure")
    assert len(failures) == 1
    failure = failures[0]
    replay = results[1]["replay"]
    assert "tiny_fail.toml" in replay
    assert "backups Succeeded" in failure.get("message")
    assert replay in failure.get("message") and replay in failure.text
    assert cases[0].find("failure") is None
    for case, r in zip(cases, results):
        assert r["replay"] in case.find("system-out").text


def test_wall_seconds_only_when_the_results_carry_them(results, tmp_path):
    assert all("seconds" not in r for r in results)
    timed = [dict(r, seconds=s) for r, s in zip(results, (1.25, 0.5))]
    paths = write_reports(timed, str(tmp_path))
    root = ET.parse(paths["junit"]).getroot()
    assert root.get("time") == "1.750"
    assert [c.get("time") for c in root.findall("testcase")] == ["1.250", "0.500"]
    html = _read(paths["html"])
    assert "· 1.25 s wall" in html and "· 0.5 s wall" in html
    assert [s["seconds"] for s in json.loads(_read(paths["json"]))["scenarios"]] == [1.25, 0.5]


def test_charts_carry_no_date_or_software_stamp(written):
    # A tEXt or tIME chunk (matplotlib's default Software, or a Date) would make two runs differ.
    html = _read(written[0]["html"])
    for png in re.findall(r'src="data:image/png;base64,([^"]+)"', html):
        data = base64.b64decode(png)
        chunks, i = [], 8
        while i < len(data):
            size, kind = struct.unpack(">I4s", data[i:i + 8])
            chunks.append(kind.decode("ascii"))
            i += 12 + size
        assert set(chunks) <= {"IHDR", "pHYs", "IDAT", "IEND"}, chunks


def test_junit_error_when_the_run_broke(results, tmp_path):
    broken = dict(results[0], passed=False, error="RuntimeError: boom",
                  checks=[{"name": "scenario runs to the end", "passed": False,
                           "detail": "RuntimeError: boom"}])
    paths = write_reports([broken], str(tmp_path))
    root = ET.parse(paths["junit"]).getroot()
    assert root.get("errors") == "1" and root.get("failures") == "0"
    assert root.find("testcase/error").get("message") == "RuntimeError: boom"


def test_html_is_self_contained_and_complete(written, results):
    html = _read(written[0]["html"])
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html, flags=re.I)
    assert refs
    for ref in refs:
        assert not re.match(r"(?i)(https?:)?//", ref), ref
        assert ref.startswith(("#", "data:image/png;base64,")), ref
    assert "url(" not in html and "@import" not in html
    assert html.count('src="data:image/png;base64,') == 2 * len(results)
    for r in results:
        assert r["name"] in html
    failed = [c for c in results[1]["checks"] if not c["passed"]]
    assert failed and all(c["name"] in html for c in failed)
    assert results[1]["replay"] in html
    assert "FAIL" in html


def test_markdown_lists_the_failing_scenario(written, results):
    md = _read(written[0]["md"])
    assert "**FAIL**" in md
    assert "## Failed scenarios" in md
    assert "### ❌ tiny failing run" in md
    assert "tiny passing run" in md
    assert "backups Succeeded" in md and "expected 99" in md
    assert results[1]["replay"] in md
    assert "base64" not in md


def test_deterministic(results, tmp_path):
    a = write_reports(results, str(tmp_path / "a"), run_info={"commit": "abc123"})
    b = write_reports(json.loads(json.dumps(results)), str(tmp_path / "b"),
                      run_info={"commit": "abc123"})
    for key in a:
        with open(a[key], "rb") as fa, open(b[key], "rb") as fb:
            assert fa.read() == fb.read(), key


def test_all_passing_suite(results, tmp_path):
    paths = write_reports([results[0]], str(tmp_path), title="only the good one")
    doc = json.loads(_read(paths["json"]))
    assert doc["passed"] is True and doc["counts"] == {"passed": 1, "failed": 0}
    assert doc["runInfo"] == {}
    assert "PASS" in _read(paths["html"]) and "only the good one" in _read(paths["html"])
    assert "All scenarios passed." in _read(paths["md"])
    assert ET.parse(paths["junit"]).getroot().find("testcase/failure") is None


def test_a_timeline_of_many_events_draws_a_few_artists(monkeypatch):
    """Bars are drawn per look, not per event: 300 port-445 episodes cost what 3 do."""
    from matplotlib.axes import Axes

    from ibs.reports.scenario_report import charts

    def episodes(n: int) -> dict:
        events = "".join(f'''
[[events]]
at = "{1 + i * 0.1:.1f}h"
do = "block_port_445"
[[events]]
at = "{1.05 + i * 0.1:.2f}h"
do = "unblock_port_445"
''' for i in range(n))
        head = '[scenario]\nname = "many"\nhub = 4\ndays = 2\n'
        return run_scenario(loads(head + events)).to_json()

    calls = {"bars": 0, "texts": 0}
    real_barh, real_text = Axes.broken_barh, Axes.text

    def barh(self, *a, **k):
        calls["bars"] += 1
        return real_barh(self, *a, **k)

    def text(self, *a, **k):
        calls["texts"] += 1
        return real_text(self, *a, **k)

    monkeypatch.setattr(Axes, "broken_barh", barh)
    monkeypatch.setattr(Axes, "text", text)
    counts = []
    for n in (3, 300):
        calls.update(bars=0, texts=0)
        charts.timeline_png(episodes(n))
        counts.append(dict(calls))
    # One call per look (status, edge, track): a handful, whatever the count of episodes.
    assert counts[1]["bars"] <= 8, counts
    assert counts[1]["texts"] <= charts.MAX_LABELS, counts
