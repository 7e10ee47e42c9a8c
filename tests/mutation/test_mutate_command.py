"""`.ci/mutate.py` (docs/MUTATION.md) runs a bounded sample, reports it, resumes, and never
touches the working tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = "engine/keys.py"


def _mutate(work: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(ROOT / ".ci" / "mutate.py"), TARGET,
                           "--work", str(work), *args],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_a_bounded_run_kills_mutants_resumes_and_leaves_the_tree_alone(tmp_path) -> None:
    before = (ROOT / TARGET).read_bytes()
    first = _mutate(tmp_path, "--max-mutants", "2")
    assert (ROOT / TARGET).read_bytes() == before
    tested = [line for line in first.splitlines() if line.startswith("[") and "->" in line]
    assert len(tested) == 2 and all(line.endswith("killed") for line in tested), first
    # The session database remembers them: the report counts 2 tested, and a second run goes on
    # with mutants it has not tested yet.
    report = _mutate(tmp_path, "--report")
    row = next(line.split() for line in report.splitlines() if line.startswith(TARGET))
    assert row[2:4] == ["2", "2"], report
    second = _mutate(tmp_path, "--max-mutants", "1")
    again = [line.split(" -> ")[0].split("] ", 1)[1] for line in second.splitlines()
             if line.startswith("[") and "->" in line]
    assert len(again) == 1
    assert again[0] not in {line.split(" -> ")[0].split("] ", 1)[1] for line in tested}
