"""README's first screen (issue 17, point 1): its two commands hold, and the README says where
`ibs` is before its first bare `ibs` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.markdown import ROOT, blocks, ibs_commands

README = ROOT / "README.md"


def _shell_blocks():
    return [b for b in blocks(README) if b.lang == "sh"]


def test_ci_runs_the_readme_test_command_as_written() -> None:
    test_command = _shell_blocks()[1].text.strip()
    assert "python -m pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci.splitlines()


def test_the_readme_says_where_ibs_is_before_the_first_bare_ibs() -> None:
    text = README.read_text()
    first = next(b for b in _shell_blocks() if ibs_commands(b.text) and "\nibs " in "\n" + b.text)
    before = "\n".join(text.splitlines()[:first.line])
    assert ". .venv/bin/activate" in before and ".venv/bin/ibs" in before


@pytest.mark.slow
def test_the_main_job_runs_and_passes(tmp_path: Path) -> None:
    # The venv this test runs in stands for the one the command's first two steps make.
    steps = [s.strip() for s in _shell_blocks()[0].text.strip().split("&&")]
    assert steps[:2] == ["python3 -m venv .venv", ".venv/bin/pip install -e ."], steps
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "ibs").symlink_to(Path(sys.executable).parent / "ibs")
    env = {**os.environ, "IBS_STORE": str(tmp_path / ".ibs-store")}
    r = subprocess.run(["bash", "-e", "-c", " && ".join(steps[2:])], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=280, check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    report = json.loads((tmp_path / "ibs-report" / "report.json").read_text())
    assert report["passed"] is True and report["counts"]["failed"] == 0
    assert report["counts"]["passed"] == len(list((ROOT / "scenarios" / "library").glob("*.toml")))
    assert {s["fidelity"] for s in report["scenarios"]} == {"wire"}
    assert {p.name for p in (tmp_path / "ibs-report").iterdir()} >= {
        "report.html", "report.md", "report.json", "junit.xml"}
