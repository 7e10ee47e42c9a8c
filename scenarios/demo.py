"""``ibs demo``: the engine end to end on sample role data, with a summary and a report.

It makes a certificate, backs up sample data of the ten infrastructure roles to the embedded
fake_smb server over SMB 3 on 127.0.0.1 (or to a local folder with ``--over local``), verifies
the backup with the PFX, restores it, compares every byte, checks that a tampered copy is
refused, and writes report.md and report.json into ``ibs-demo/`` (the README's first look).
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import json
import os
import random
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ibs.engine import certs
from ibs.engine.cli.vocab import renamed
from ibs.engine.clock import SystemClock
from ibs.engine.controller import Controller
from ibs.engine.errors import IntegrityError
from ibs.engine.store import Store

ROLES = ("ACS", "CA", "CRP", "Domain", "ECE", "KeyVault", "NRP", "RBAC", "SRP", "WAS")


def register(sub) -> None:
    p = sub.add_parser("demo", help="back up, verify, restore and tamper-check sample role data",
                       description="The engine end to end in a few seconds, on sample data of "
                       "the ten infrastructure roles, in a scratch folder removed afterwards.")
    p.add_argument("--over", choices=("smb", "local"), default="smb",
                   help="write to the embedded fake_smb server or a local folder "
                        "(default: %(default)s)")
    # Its own folder: the suite's ibs-report/ is left to `ibs run`.
    p.add_argument("--report-dir", default="ibs-demo", metavar="DIR",
                   help="folder for report.md and report.json (default: %(default)s)")
    renamed(p, "--report", "--report-dir", dest="report_dir", metavar="DIR")
    p.add_argument("--seed", type=int, default=1,
                   help="seed of the sample data (default: %(default)s)")
    p.add_argument("--keep", action="store_true", help="keep the working folder")
    p.set_defaults(func=run)


def sample_roles(root: Path, seed: int) -> dict[str, str]:
    """Deterministic role data: text databases, binary blobs, folders, an empty file, a link."""
    rng = random.Random(seed)
    sources = {}
    for role in ROLES:
        folder = root / role
        (folder / "db").mkdir(parents=True)
        lines = [f"{role.lower()}-object-{i:05d} owner=tenant{rng.randrange(50)}\n" for i in range(4000)]
        (folder / "db" / "objects.txt").write_text("".join(lines))
        (folder / "blob.bin").write_bytes(rng.randbytes(rng.randrange(200_000, 600_000)))
        (folder / "empty.flag").write_bytes(b"")
        os.symlink("db/objects.txt", folder / "current")
        sources[role] = str(folder)
    return sources


@contextlib.contextmanager
def share_location(kind: str, work: Path) -> Iterator[tuple[str, str | None, str | None, int]]:
    folder = work / "share"
    folder.mkdir()
    if kind == "local":
        yield str(folder), None, None, 445
        return
    from ibs.fake_smb import FakeSmbServer

    password = secrets.token_urlsafe(16)
    with FakeSmbServer(str(folder), users={"backup": password}, encryption="desired") as srv:
        (folder / "stamp1").mkdir()
        yield r"\\127.0.0.1\backup\stamp1", "backup", password, srv.port


def compare(a: str, b: str) -> list[str]:
    diffs = []
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        c = stack.pop()
        diffs += [os.path.join(c.left, n) for n in c.left_only + c.right_only + c.diff_files + c.funny_files]
        stack.extend(c.subdirs.values())
    return diffs


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    work = Path(tempfile.mkdtemp(prefix="ibs-demo-"))
    checks: list[tuple[str, bool, str]] = []
    try:
        sources = sample_roles(work / "roles", args.seed)
        pfx_password = secrets.token_urlsafe(12)
        cer, pfx = certs.new_certificate("IBS demo", pfx_password, now=SystemClock().now())
        key = certs.load_pfx(pfx, pfx_password)
        with share_location(args.over, work) as (path, user, password, port):
            ctl = Controller(Store(str(work / "store")), SystemClock())
            ctl.configure(path=path, username=user, password=password, smb_port=port, cert=cer,
                          sources=sources)
            t0 = time.perf_counter()
            record = ctl.start_backup().run()
            took = time.perf_counter() - t0
            checks.append(("backup", record.status == "Succeeded",
                           (f"{record.status}, {record.sizeBytes} bytes in {took:.2f} s, "
                            f"transferEncrypted={record.transferEncrypted}")))
            if record.status != "Succeeded":
                raise SystemExit(_finish(console, checks, args, work, record.to_json()))
            verified = ctl.verify(record.id, key)
            checks.append(("verify", True, (f"{len(verified)} roles, "
                           f"{sum(v[1] for v in verified.values())} bytes authentic")))
            target = work / "restored"
            ctl.restore(record.id, key, str(target))
            diffs = [d for role, src in sources.items() for d in compare(src, str(target / role))]
            checks.append(("restore", not diffs, "identical to the sources" if not diffs
                           else f"{len(diffs)} differences, e.g. {diffs[0]}"))
            single = work / "single"
            ctl.restore(record.id, key, str(single), role="KeyVault")
            checks.append(("single-role restore", os.listdir(single) == ["KeyVault"], "KeyVault only"))
            checks.append(_tamper_check(ctl, record.id, key, work))
        return _finish(console, checks, args, work, record.to_json())
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            console.print(f"working folder kept: {work}")


def _tamper_check(ctl: Controller, backup_id: str, key, work: Path) -> tuple[str, bool, str]:
    with ctl.share() as share:
        path = f"MASBackup/{backup_id}/roles/CA.ibsr"
        data = bytearray(share.read_bytes(path))
        data[len(data) // 2] ^= 0x01
        share.write_bytes(path, bytes(data))
    try:
        ctl.restore(backup_id, key, str(work / "tampered"))
    except IntegrityError as exc:
        left = os.listdir(work / "tampered") if (work / "tampered").exists() else []
        return ("tampered backup refused", not left, str(exc))
    return ("tampered backup refused", False, "restore accepted a flipped bit")


def _finish(console, checks, args, work: Path, backup: dict) -> int:
    from rich.table import Table

    ok = all(passed for _, passed, _ in checks)
    table = Table(title="ibs demo", title_justify="left")
    for col in ("check", "result", "detail"):
        table.add_column(col)
    for name, passed, detail in checks:
        table.add_row(name, "[green]pass[/green]" if passed else "[red]FAIL[/red]", detail)
    console.print(table)
    report = Path(args.report_dir)
    report.mkdir(parents=True, exist_ok=True)
    (report / "report.json").write_text(json.dumps(
        {"passed": ok, "checks": [{"check": n, "passed": p, "detail": d} for n, p, d in checks],
         "backup": backup}, indent=2) + "\n")
    md = ["# ibs demo", "", "| check | result | detail |", "|---|---|---|"]
    md += [f"| {n} | {'pass' if p else 'FAIL'} | {d} |" for n, p, d in checks]
    (report / "report.md").write_text("\n".join(md) + "\n")
    console.print(f"{'all checks passed' if ok else 'SOME CHECKS FAILED'}; report in {report}/")
    return 0 if ok else 1
