"""``ibs bench smb``: the engine's backup to a real Samba vs plain smbprotocol; fake_smb speed."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ibs.scenarios.bench.common import MIB, Contender, Report, Steps, Target, random_tree, read_all

if TYPE_CHECKING:
    from rich.console import Console

ROLE = "SRP"
USER = "alice"
BLOCK = 4 * MIB
FAKE_MIN_MB_S = 50.0

METHOD = (
    "Loopback only (127.0.0.1). Source: N MiB of random data in 4 files under /tmp, page cache "
    "warm. Samba: a private smbd (SambaServer, SMB 3.0-3.1.1, 'server smb encrypt = desired', so "
    "sessions are encrypted). The engine's backup (Controller with the share's UNC path, "
    "SystemClock, default chunk size, threads=True; run in a subprocess, timed inside it around "
    "`start_backup().run()`) is compared with a plain smbprotocol client (one encrypted session, "
    "4 MiB writes of the same source bytes, read with readinto, then flush and close); both "
    "figures include connecting and signing in. Each runs "
    "once to warm up and is then measured. fake_smb: FakeSmbServer with encryption required, "
    "engine SmbShare writing then reading N MiB in 4 MiB blocks; then the same with encryption "
    "'off' on the server and not required by the client (figures only, no target). "
    "MB = 10^6 bytes."
)


def _source_files(src: Path) -> list[Path]:
    return sorted(p for p in src.iterdir() if p.is_file())


def plain_copy(src: Path, port: int, unc: str, password: str, folder: str) -> tuple[float, bool]:
    """Write the source files with bare smbprotocol calls; return (seconds, encrypted)."""
    from smbprotocol.connection import Connection
    from smbprotocol.file_info import FileAttributes
    from smbprotocol.open import (
        CreateDisposition,
        CreateOptions,
        ImpersonationLevel,
        Open,
        ShareAccess,
    )
    from smbprotocol.open import FilePipePrinterAccessMask as A
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    t0 = time.perf_counter()  # like the engine's figure: connecting and signing in included
    conn = Connection(uuid.uuid4(), "127.0.0.1", port)
    conn.connect()
    try:
        sess = Session(conn, USER, password, require_encryption=True)
        sess.connect()
        tree = TreeConnect(sess, unc)
        tree.connect()
        buf = bytearray(BLOCK)
        for path in _source_files(src):
            o = Open(tree, f"{folder}\\{path.name}")
            o.create(ImpersonationLevel.Impersonation,
                     A.FILE_WRITE_DATA | A.FILE_READ_ATTRIBUTES | A.SYNCHRONIZE,
                     FileAttributes.FILE_ATTRIBUTE_NORMAL, ShareAccess.FILE_SHARE_READ,
                     CreateDisposition.FILE_OVERWRITE_IF, CreateOptions.FILE_NON_DIRECTORY_FILE)
            off = 0
            with open(path, "rb", buffering=0) as f:
                while n := f.readinto(buf):
                    have = conn.sequence_window["high"] - conn.sequence_window["low"]
                    if have < 64:
                        conn.echo(sid=sess.session_id, credit_request=65 - have)
                    o.write(bytes(memoryview(buf)[:n]), off)
                    off += n
            o.flush()
            o.close(False)
        took = time.perf_counter() - t0
        return took, bool(sess.encrypt_data)
    finally:
        conn.disconnect()


@runtime_checkable
class _ReadsInto(Protocol):
    """A reader that fills a caller's buffer (``SmbShare.open``'s reader does), so the read
    benchmark times the transfer and not a fresh allocation per block."""

    def readinto(self, buffer: bytearray) -> int | None: ...


def run_smb_bench(size_mib: int, console: Console, keep: bool = False) -> Report:
    from ibs.fake_smb.samba import SambaServer

    steps = Steps(console)
    report = Report("smb", size_mib, METHOD)
    work = Path(tempfile.mkdtemp(prefix="ibs-bench-smb-"))  # $TMPDIR, default /tmp
    try:
        src = work / "src"
        with steps.step(f"writing {size_mib} MiB of random data"):
            nbytes = random_tree(src, size_mib)
            read_all(src)
        if SambaServer.available():
            try:
                _samba_part(report, src, nbytes, work, steps)
            except Exception as exc:  # noqa: BLE001 - keep the fake_smb figures; say what failed
                why = f"{type(exc).__name__}: {exc}"[:400]
                for name in ("engine backup to Samba", "plain smbprotocol copy to Samba"):
                    if report.contender(name) is None:
                        report.contenders.append(Contender(name, None, nbytes, f"failed: {why}"))
                report.notes.append(f"the Samba comparison failed: {why}")
                report.targets.append(Target("engine backup vs plain smbprotocol (Samba)", None,
                                             ">= 0.8x", False, f"failed: {why}"))
        else:
            for name in ("engine backup to Samba", "plain smbprotocol copy to Samba"):
                report.contenders.append(Contender(name, None, nbytes, "Samba not available"))
            report.notes.append("Samba not available (needs smbd, smbpasswd, libnss-wrapper and "
                                "root): the Samba comparison was skipped")
            report.ratio("engine backup vs plain smbprotocol (Samba)", "engine backup to Samba",
                         "plain smbprotocol copy to Samba", 0.8)
        _fake_part(report, nbytes, work, steps)
        return report
    finally:
        if keep:
            console.print(f"working folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _samba_part(report: Report, src: Path, nbytes: int, work: Path, steps: Steps) -> None:
    from ibs.engine import certs
    from ibs.engine.clock import SystemClock
    from ibs.fake_smb.samba import SambaServer
    from ibs.scenarios.bench.rounds import EngineRuns

    password = secrets.token_urlsafe(12)
    share_dir = work / "samba-share"
    share_dir.mkdir()
    cer, _pfx = certs.new_certificate("IBS bench", None, now=SystemClock().now())
    eng = EngineRuns(work, cer)
    with steps.step("starting Samba"):
        server = SambaServer(share_dir, users={USER: password}, encryption="desired").start()
    try:
        def engine_run(tag: str) -> dict:
            (share_dir / tag).mkdir()
            store = eng.configure(src, rf"{server.unc}\{tag}", username=USER, password=password,
                                  smb_port=server.port)
            line, _rss = eng.backup(store)
            shutil.rmtree(share_dir / tag)
            return line

        def plain_run(tag: str) -> tuple[float, bool]:
            (share_dir / tag).mkdir()
            try:
                return plain_copy(src, server.port, server.unc, password, tag)
            finally:
                shutil.rmtree(share_dir / tag)

        with steps.step("engine backup to Samba (warm-up)"):
            engine_run("e-warm")
        with steps.step("plain smbprotocol copy (warm-up)"):
            plain_run("p-warm")
        with steps.step("engine backup to Samba"):
            line = engine_run("e-bench")
        with steps.step("plain smbprotocol copy"):
            plain_s, plain_enc = plain_run("p-bench")
    finally:
        server.stop()
    report.contenders.append(Contender(
        "engine backup to Samba", line["seconds"], nbytes,
        f"transferEncrypted={line['transferEncrypted']}"))
    report.contenders.append(Contender("plain smbprotocol copy to Samba", plain_s, nbytes,
                                       f"encrypted={plain_enc}; 4 MiB writes"))
    if not line["transferEncrypted"]:
        report.notes.append("the engine's session to Samba was NOT encrypted")
    report.ratio("engine backup vs plain smbprotocol (Samba)", "engine backup to Samba",
                 "plain smbprotocol copy to Samba", 0.8)


def _fake_part(report: Report, nbytes: int, work: Path, steps: Steps) -> None:
    """fake_smb throughput with encryption required (the targets), then with it off (the
    figure beside them: what encryption costs)."""
    for encryption in ("required", "off"):
        w, r, encrypted = _fake_rw(nbytes, work, steps, encryption)
        suffix = "" if encryption == "required" else ", unencrypted"
        for name, secs in ((f"fake_smb write (SmbShare, 4 MiB{suffix})", w),
                           (f"fake_smb read (SmbShare, 4 MiB{suffix})", r)):
            c = Contender(name, secs, nbytes, f"encryption {encryption}; encrypted={encrypted}")
            report.contenders.append(c)
            if encryption == "required":
                mb_s = c.mb_s
                if mb_s is None:
                    raise RuntimeError(f"{name}: the transfer took no measurable time ({secs} s)")
                report.targets.append(Target(
                    name.split(" (")[0] + " throughput", mb_s, f">= {FAKE_MIN_MB_S:g} MB/s",
                    mb_s >= FAKE_MIN_MB_S, f"{mb_s:.1f} MB/s ({secs:.2f} s)", unit="MB/s"))
        if encryption == "off" and encrypted:
            report.notes.append("fake_smb with encryption off still encrypted the session")


def _fake_rw(nbytes: int, work: Path, steps: Steps, encryption: str) -> tuple[float, float, bool]:
    """Write then read ``nbytes`` through SmbShare to a FakeSmbServer; (write s, read s, encrypted)."""
    from ibs.engine.share.smb import SmbShare
    from ibs.fake_smb import FakeSmbServer

    password = secrets.token_urlsafe(12)
    share_dir = work / f"fake-share-{encryption}"
    share_dir.mkdir()
    block = os.urandom(BLOCK)
    required = encryption == "required"
    what = "fake_smb" + ("" if required else " unencrypted")
    with FakeSmbServer(str(share_dir), users={USER: password}, encryption=encryption) as srv:
        unc = rf"\\127.0.0.1\{srv.share_name}"
        with SmbShare(unc, USER, password, port=srv.port, require_encryption=required) as sh:
            encrypted = bool(sh.transfer_encrypted)

            def write() -> float:
                t0 = time.perf_counter()
                with sh.create("bench.bin") as f:
                    left = nbytes
                    while left:
                        k = min(BLOCK, left)
                        f.write(block[:k] if k < BLOCK else block)
                        left -= k
                return time.perf_counter() - t0

            def read() -> float:
                buf = bytearray(BLOCK)
                got = 0
                t0 = time.perf_counter()
                with sh.open("bench.bin") as f:
                    if not isinstance(f, _ReadsInto):
                        raise TypeError(f"{type(f).__name__} (SmbShare.open) has no readinto: "
                                        "the read benchmark reads into one reused buffer")
                    while n := f.readinto(buf):
                        got += n
                took = time.perf_counter() - t0
                if got != nbytes:
                    raise RuntimeError(f"fake_smb read back {got} bytes, wrote {nbytes}")
                return took

            with steps.step(f"{what} write/read (warm-up)"):
                write(); read()
            with steps.step(f"{what} write"):
                w = write()
            with steps.step(f"{what} read"):
                r = read()
    shutil.rmtree(share_dir, ignore_errors=True)
    return w, r, encrypted
