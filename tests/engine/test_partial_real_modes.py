"""Mode 000 for real: the engine run by a user who may not read a file and a folder of a role.

Root reads through modes by its capabilities CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH; as root
the engine runs without them (util-linux ``setpriv``), so modes bind it as they bind any user.
What ``test_partial_backup`` checks through a patched open is checked here end to end through
the command line: exit 4, the entries named, every readable file restored.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import make_tree

ROOT = Path(__file__).resolve().parents[2]
AS_ROOT = os.geteuid() == 0
WITHOUT_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if AS_ROOT else []

pytestmark = pytest.mark.skipif(AS_ROOT and shutil.which("setpriv") is None,
                                reason="as root, modes bind only without CAP_DAC_*: needs setpriv")


@pytest.fixture
def place(tmp_path):
    yield tmp_path
    os.chmod(tmp_path / "src" / "CA" / "closed", 0o755)  # for pytest's clean-up, as a user


def ibs(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("IBS_STORE", None)
    return subprocess.run([*WITHOUT_DAC, sys.executable, "-m", "ibs.engine.cli", "--store", str(store),
                           *args], check=False, capture_output=True, text=True, env=env,
                          timeout=120)


def test_mode_000_file_and_folder_are_left_out_named_and_the_rest_restores(place, cert_pair):
    src = make_tree(place / "src" / "CA", {"a.txt": b"alpha", "sub/b.txt": b"beta",
                                           "secret.key": b"k", "closed/c.txt": b"gamma"})
    os.chmod(src / "secret.key", 0o000)
    os.chmod(src / "closed", 0o000)
    cer, pfx, pw = cert_pair.write(place)
    share, out, store = place / "share", place / "out", place / "store"
    share.mkdir()

    r = ibs(store, "config", "set", "--path", str(share), "--encryption-cert", str(cer),
            "--source", f"CA={src}")
    assert r.returncode == 0, r.stderr
    r = ibs(store, "backup", "start", "--json")
    assert r.returncode == 4, r.stderr
    record = json.loads(r.stdout)
    assert record["status"] == "PartialSucceeded"
    assert record["roleStatus"] == [{"roleName": "CA", "status": "PartialSucceeded"}]
    skipped = sorted(w.split("skipped ")[1].split(":")[0] for w in record["warnings"]
                     if "skipped " in w)
    assert skipped == ["closed", "secret.key"]
    assert [n for n in os.listdir(share / "MASBackup") if n.startswith(".")] == []
    r = ibs(store, "backup", "restore", record["id"], "--decryption-cert", str(pfx),
            "--decryption-cert-password-file", str(pw), "--target", str(out / "t"))
    assert r.returncode == 0, r.stderr
    restored = {str(p.relative_to(out / "t" / "CA")): p.read_bytes()
                for p in (out / "t" / "CA").rglob("*") if p.is_file()}
    assert restored == {"a.txt": b"alpha", "sub/b.txt": b"beta"}
