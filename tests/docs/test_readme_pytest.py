"""README's pytest example, as written, in a project of its own (issue 17, point 2): the scenario
file it names is docs/SCENARIOS.md's example; the tests pass, and a check that fails is an
AssertionError listing the failed check, as its comment promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.docs.markdown import ROOT, blocks

SCENARIO_FILE = "tests/scenario_port445_reject.toml"


def _project(tmp_path: Path) -> Path:
    (example,) = [b for b in blocks(ROOT / "README.md") if b.lang == "python"]
    assert f'assert_scenario("{SCENARIO_FILE}"' in example.text
    scenario = next(b for b in blocks(ROOT / "docs" / "SCENARIOS.md") if b.lang == "toml")
    (tmp_path / "tests").mkdir()
    (tmp_path / SCENARIO_FILE).write_text(scenario.text)
    test_file = tmp_path / "tests" / "test_readme_example.py"
    test_file.write_text(example.text)
    return test_file


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=280, check=False)


def test_the_example_passes_as_written(tmp_path: Path) -> None:
    test_file = _project(tmp_path)
    r = _pytest(tmp_path, str(test_file))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "4 passed" in r.stdout


def test_a_failed_check_is_an_assertion_error_naming_it(tmp_path: Path) -> None:
    test_file = _project(tmp_path)
    scenario = tmp_path / SCENARIO_FILE
    text = scenario.read_text()
    assert "backups = { Succeeded = 2, Failed = 2 }" in text
    scenario.write_text(text.replace("Succeeded = 2, Failed = 2", "Succeeded = 3, Failed = 2"))
    r = _pytest(tmp_path, str(test_file), "-k", "test_my_file", "--tb=short",
                "--junitxml", "junit.xml")
    assert r.returncode == 1, r.stdout[-3000:]
    junit = (tmp_path / "junit.xml").read_text()
    assert "ScenarioFailure" in junit and "ScenarioError" not in junit
    assert "Succeeded" in r.stdout and "replay: ibs run" in r.stdout
    from ibs.scenarios.pytest_plugin import ScenarioFailure

    assert issubclass(ScenarioFailure, AssertionError)
