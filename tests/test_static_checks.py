"""The type and lint gates (issue 13): mypy on engine/, simulator/ and scenarios/, ruff on the
whole repository, both as configured in pyproject.toml.

mypy reads the packages under their installed names (``ibs.engine``...): the folders are linked
into a scratch ``ibs/`` tree, since an editable install's import hook is invisible to it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "fake_smb", "reports", "scenarios", "simulator")
CHECKED = ("ibs.engine", "ibs.simulator", "ibs.scenarios")

pytestmark = pytest.mark.slow


def test_ruff_finds_nothing():
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format",
                          "concise", str(ROOT)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_finds_nothing(tmp_path):
    tree = tmp_path / "tree" / "ibs"
    tree.mkdir(parents=True)
    for package in PACKAGES:
        (tree / package).symlink_to(ROOT / package, target_is_directory=True)
    args = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
            "--cache-dir", str(tmp_path / "cache")]
    for package in CHECKED:
        args += ["-p", package]
    run = subprocess.run(args, capture_output=True, text=True, check=False, cwd=tmp_path,
                         env={"MYPYPATH": str(tree.parent), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stdout + run.stderr
