"""``ibs bench rp`` runs both servers, writes its report, and its exit code says whether a
target failed (the figures themselves are the benchmark's business, not a test's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_rp_measures_both_servers_and_exits_by_its_targets(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "ibs.engine.cli", "bench", "rp", "--seconds", "0.5",
                        "--clients", "2", "--backups", "2", "--out", str(tmp_path)],
                       env=env, capture_output=True, text=True, timeout=300, check=False)
    report = json.loads((tmp_path / "bench-rp.json").read_text())
    for name in ("serve_rp", "former"):
        assert report[name]["rps"] > 0 and report[name]["errors"] == 0, report[name]
    failed = [t["name"] for t in report["targets"] if t["passed"] is False]
    assert r.returncode == (1 if failed else 0), (r.returncode, failed, r.stderr)
    if failed:
        assert "targets failed" in r.stderr
    assert (tmp_path / "bench-rp.md").read_text().startswith("# ibs bench rp")
