"""Fixtures for the engine's tests: certificates made once, a controller on a local share."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from ibs.engine import certs
from ibs.engine.clock import ManualClock
from ibs.engine.controller import Controller
from ibs.engine.store import Store

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class CertPair:
    cer: bytes
    pfx: bytes
    password: str

    @property
    def key(self) -> certs.DecryptionKey:
        return certs.load_pfx(self.pfx, self.password)

    @property
    def thumbprint(self) -> str:
        return certs.thumbprint(self.cer)

    def write(self, folder: Path, stem: str = "backup") -> tuple[Path, Path, Path]:
        cer, pfx, pw = folder / f"{stem}.cer", folder / f"{stem}.pfx", folder / f"{stem}.pw"
        cer.write_bytes(self.cer)
        pfx.write_bytes(self.pfx)
        pw.write_text(self.password + "\n")
        return cer, pfx, pw


def _pair(subject: str, password: str) -> CertPair:
    cer, pfx = certs.new_certificate(subject, password, now=T0)
    return CertPair(cer, pfx, password)


@pytest.fixture(scope="session")
def cert_pair() -> CertPair:
    return _pair("IBS test", "pfx-secret-Zq81")


@pytest.fixture(scope="session")
def other_cert_pair() -> CertPair:
    return _pair("IBS other", "other-secret-77x")


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


@dataclass
class Rig:
    """A controller on a local share with two roles of sample data, on a manual clock."""

    ctl: Controller
    clock: ManualClock
    share: Path
    sources: dict[str, Path]
    tmp: Path

    def new_controller(self, **kw) -> Controller:
        return Controller(self.ctl.store, self.clock, chunk_size=4096, **kw)


@pytest.fixture
def rig(tmp_path: Path, cert_pair: CertPair) -> Rig:
    share = tmp_path / "share"
    share.mkdir()
    sources = {
        "CA": make_tree(tmp_path / "src" / "CA", {"ca.db": b"certificate authority\n" * 500}),
        "ECE": make_tree(tmp_path / "src" / "ECE", {"cfg/ece.json": b'{"x": 1}', "blob": os.urandom(20000)}),
    }
    clock = ManualClock(T0)
    store = Store(str(tmp_path / "store"))
    ctl = Controller(store, clock, chunk_size=4096)
    ctl.configure(path=str(share), cert=cert_pair.cer,
                  sources={k: str(v) for k, v in sources.items()})
    return Rig(ctl, clock, share, sources, tmp_path)


def tree_snapshot(root: Path) -> dict[str, tuple]:
    """Names, kinds, bytes, modes and mtimes of everything under ``root`` (symlinks not followed)."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full), st.st_mtime_ns)
            elif os.path.isdir(full):
                out[rel] = ("dir", st.st_mode & 0o7777, st.st_mtime_ns)
            else:
                with open(full, "rb") as f:
                    out[rel] = ("file", f.read(), st.st_mode & 0o7777, st.st_mtime_ns)
    st = os.stat(root)
    out["."] = ("dir", st.st_mode & 0o7777, st.st_mtime_ns)
    return out
