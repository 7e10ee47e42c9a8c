"""README's curl walkthrough of the REST provider runs as written (on a free port)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARK = "<!-- rp-walkthrough: tests/rp/test_readme.py runs this block -->"


def _block() -> str:
    text = (ROOT / "README.md").read_text()
    assert MARK in text
    return text.split(MARK, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("openssl")),
                    reason="needs curl and openssl")
def test_the_readme_walkthrough_runs(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "ibs"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m ibs.engine.cli \"$@\"\n")
    shim.chmod(0o755)
    script = _block().replace("8480", str(port))
    # whatever happens, the provider the script started is stopped with it
    script = "trap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + script
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    r = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"status":"Succeeded"' in r.stdout
    assert '"value":[{' in r.stdout
