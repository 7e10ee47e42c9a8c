"""Installed, the project's packages live under ``ibs``: a user's project with its own ``engine``,
``reports`` and ``scenarios`` packages runs its tests with our pytest plugin loaded (issue 13).

The install is a regular one, as a user gets it: the project is built into a wheel and the wheel
unpacked into a fresh virtual environment (an editable install would hide a collision: its import
finder resolves our modules wherever they are). The fresh environment borrows this environment's
third-party packages, without this project's own editable install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("ibs_simulator", "__editable__")  # this project's own install in the test environment

USER_TESTS = '''
import engine
import reports
import scenarios


def test_the_projects_own_packages_are_imported():
    assert engine.OWNER == reports.OWNER == scenarios.OWNER == "the user"


def test_the_ibs_plugin_is_loaded(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("ibs")
    assert pytestconfig.getoption("ibs_fidelity") is None


def test_the_plugins_api_is_importable_under_ibs():
    from ibs.scenarios.pytest_plugin import assert_scenario
    from ibs.engine.certs import load_certificate  # noqa: F401

    assert callable(assert_scenario)
'''


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(ROOT)], check=True, timeout=600)
    (built,) = out.glob("ibs_simulator-*.whl")
    return built


def _fresh_environment(where: Path, wheel: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # Third-party packages from this environment, one symlink each, leaving out our own install.
    borrowed = where / "borrowed"
    borrowed.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(OURS):
            (borrowed / entry.name).symlink_to(entry)
    (site / "borrowed.pth").write_text(f"{borrowed}\n")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return python


def _user_project(where: Path) -> Path:
    for name in ("engine", "reports", "scenarios"):
        (where / name).mkdir(parents=True)
        (where / name / "__init__.py").write_text('OWNER = "the user"\n')
    (where / "tests").mkdir()
    (where / "tests" / "test_own.py").write_text(textwrap.dedent(USER_TESTS))
    return where


@pytest.mark.slow
def test_a_project_with_its_own_engine_reports_and_scenarios_runs_with_our_plugin(tmp_path, wheel):
    python = _fresh_environment(tmp_path / "venv", wheel)
    project = _user_project(tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    run = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


@pytest.mark.slow
def test_the_installed_wheel_holds_only_the_ibs_namespace(wheel):
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"ibs"}


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_data_file_of_the_five_packages(wheel):
    """pyproject.toml lists the packages by hand (the ``ibs.`` mapping needs it): a new folder
    left out of the list would be missing from every regular install."""
    expected = set()
    for package in ("engine", "fake_smb", "reports", "scenarios", "simulator"):
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                expected.add("ibs/" + path.relative_to(ROOT).as_posix())
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("ibs/")}
    assert expected - shipped == set()
