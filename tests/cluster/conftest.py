"""A real Dask scheduler and two workers on 127.0.0.1, started by PID and stopped by PID."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
IBS = str(BIN / "ibs")
DASK = str(BIN / "dask") if (BIN / "dask").exists() else shutil.which("dask")
LIBRARY = Path(__file__).parents[2] / "scenarios" / "library"


def ibs(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([IBS, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class External:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def external(tmp_path):
    """``dask scheduler`` and two ``dask worker`` processes (no nanny: the PID is the worker,
    so killing it loses the worker for good)."""
    if DASK is None:
        pytest.skip("the dask command is not installed")
    address = f"tcp://127.0.0.1:{free_port()}"
    procs: list[subprocess.Popen] = []
    with open(tmp_path / "dask.log", "w") as log:
        yield from _start(address, log, tmp_path, procs)


def _start(address, log, tmp_path, procs):
    from distributed import Client

    try:
        scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
             "--no-dashboard"], stdout=log, stderr=log, cwd=tmp_path)
        procs.append(scheduler)
        cluster = External(address, scheduler)
        for _ in range(2):
            worker = subprocess.Popen(
                [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-nanny", "--no-dashboard"], stdout=log, stderr=log, cwd=tmp_path)
            procs.append(worker)
            cluster.workers.append(worker)
        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=120)
        yield cluster
    finally:
        for proc in reversed(procs):
            _stop(proc)
