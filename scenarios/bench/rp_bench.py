"""``ibs bench rp``: GET backups from the Backup RP with concurrent clients, the served stack
(``ibs serve-rp``: FastAPI under uvicorn) beside the former one (``rp_legacy``), in one run.

Each server runs in a process of its own over the same store (``--backups`` real backups of a
small role); this process is the load: ``--clients`` threads, each with one keep-alive
connection, send GET backups for ``--seconds`` after a one-second warm-up. Targets (issue 14):
at least 500 requests/s and p99 under 50 ms for ``ibs serve-rp``.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ibs.scenarios.bench.common import Contender, Report, Target

if TYPE_CHECKING:
    from rich.console import Console

MIN_RPS = 500.0
MAX_P99_MS = 50.0
PATH = ("/subscriptions/default/resourceGroups/system.local/providers/Microsoft.Backup.Admin"
        "/backupLocations/local/backups?api-version=2018-09-01")
METHOD = (
    "Each server in its own process over one store holding N backups; the load is this process: "
    "C threads, each with one keep-alive http.client connection, sending `GET {path}` as fast "
    "as answers come, for S seconds after a 1 s warm-up. Requests/s = 200 answers / S; latency "
    "per request with perf_counter; p50/p99 over all requests. Any answer other than 200 fails "
    "the run. Contenders: `ibs serve-rp --no-scheduler` (FastAPI, uvicorn) and "
    "`python -m ibs.scenarios.bench.rp_legacy` (the former ThreadingHTTPServer stack)."
)


class RpReport(Report):
    def _title(self) -> str:
        return (f"ibs bench rp ({self.extra.get('clients')} clients, "
                f"{self.extra.get('backups')} backups)")


@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies_ms)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def _store(root: Path, backups: int) -> Path:
    """A store with ``backups`` real backups of a small role, made through the controller."""
    import datetime as dt

    from ibs.engine.certs import new_certificate
    from ibs.engine.clock import SystemClock
    from ibs.engine.controller import Controller
    from ibs.engine.store import Store

    share, src, store_dir = root / "share", root / "src" / "CA", root / "store"
    share.mkdir(parents=True)
    src.mkdir(parents=True)
    (src / "ca.db").write_bytes(os.urandom(4096))
    cer, _pfx = new_certificate("ibs-bench-rp", "bench-pw", now=dt.datetime.now(dt.UTC))
    ctl = Controller(Store(str(store_dir)), SystemClock())
    ctl.configure(path=str(share), cert=cer, sources={"CA": str(src)}, scheduler=False)
    for _ in range(backups):
        ctl.start_backup("OnDemand").run()
    return store_dir


def _serve(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if m:
            # keep draining its output, or a chatty server would block on a full pipe
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, m.group(1)
    proc.kill()
    raise RuntimeError(f"{cmd[2:4]} did not start")


def _load(url: str, token: str, clients: int, seconds: float) -> Load:
    host, port = url.rsplit("/", 1)[-1].split(":")
    headers = {"Authorization": f"Bearer {token}"}
    stop = threading.Event()
    measuring = threading.Event()
    results: list[tuple[int, int, list[float]]] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        done = errors = 0
        lat: list[float] = []
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                conn.request("GET", PATH, headers=headers)
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
            if measuring.is_set():
                lat.append((time.perf_counter() - t0) * 1000)
                done += ok
                errors += not ok
        conn.close()
        with lock:
            results.append((done, errors, lat))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # warm-up: connections made, code paths hot
    measuring.set()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - t0
    for t in threads:
        t.join(60)
    return Load(sum(r[0] for r in results), sum(r[1] for r in results), elapsed,
                [x for r in results for x in r[2]])


def run_rp_bench(clients: int, seconds: float, backups: int, console: Console) -> Report:
    token = secrets.token_urlsafe(24)
    env = {**os.environ, "IBS_RP_TOKEN": token}
    root_path = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root_path + os.pathsep + env.get("PYTHONPATH", "")
    report = RpReport("rp", 0, METHOD.format(path=PATH).replace("C threads", f"{clients} threads")
                    .replace("S seconds", f"{seconds:g} s").replace("N backups", f"{backups} backups"))
    with tempfile.TemporaryDirectory(prefix="ibs-bench-rp-") as tmp:
        console.print(f"making a store with {backups} backups ...")
        store = _store(Path(tmp), backups)
        loads: dict[str, Load] = {}
        for name, cmd in (
            ("ibs serve-rp (FastAPI, uvicorn)",
             [sys.executable, "-m", "ibs.engine.cli", "serve-rp", "--store", str(store), "--port", "0",
              "--no-scheduler"]),
            ("former server (ThreadingHTTPServer)",
             [sys.executable, "-m", "ibs.scenarios.bench.rp_legacy", str(store)]),
        ):
            console.print(f"{name}: {clients} clients for {seconds:g} s ...")
            proc, url = _serve(cmd, env)
            try:
                loads[name] = load = _load(url, token, clients, seconds)
            finally:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            report.contenders.append(Contender(
                name, load.seconds, load.requests,
                f"{load.rps:.0f} req/s, p50 {load.pct(0.5):.1f} ms, p99 {load.pct(0.99):.1f} ms, "
                f"{load.errors} errors"))
    new, old = loads["ibs serve-rp (FastAPI, uvicorn)"], loads["former server (ThreadingHTTPServer)"]
    figures = (f"serve-rp {new.rps:.0f} req/s, p99 {new.pct(0.99):.1f} ms; former "
               f"{old.rps:.0f} req/s, p99 {old.pct(0.99):.1f} ms")
    report.targets.append(Target("serve-rp GET backups requests/s", new.rps, f">= {MIN_RPS:g}",
                                 new.rps >= MIN_RPS and new.errors == 0, figures, "req/s"))
    report.targets.append(Target("serve-rp GET backups p99", new.pct(0.99), f"< {MAX_P99_MS:g} ms",
                                 new.pct(0.99) < MAX_P99_MS and new.errors == 0, figures, "ms"))
    report.targets.append(Target("serve-rp / former requests/s (no target)",
                                 new.rps / old.rps if old.rps else None, "-", None, figures))
    report.extra = {"clients": clients, "seconds": seconds, "backups": backups,
                    "serve_rp": {"rps": new.rps, "p50_ms": new.pct(0.5), "p99_ms": new.pct(0.99),
                                 "errors": new.errors},
                    "former": {"rps": old.rps, "p50_ms": old.pct(0.5), "p99_ms": old.pct(0.99),
                               "errors": old.errors}}
    return report
