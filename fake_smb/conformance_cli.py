"""`ibs fake-smb conformance`: smbtorture against Samba and fake_smb, a table, an exit code.

Exit codes: 0 when every test Samba passes is passed by fake_smb or allowlisted; 1 when
fake_smb fails one the allowlist does not name (they are listed); 2 for bad input (an unknown
suite or test, smbtorture or Samba missing, a bad allowlist), on one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Self

from ibs.fake_smb import conformance, conformance_report
from ibs.fake_smb.renamed import renamed
from ibs.fake_smb.samba import SambaError
from ibs.fake_smb.torture import TortureError, find_smbtorture


def register(sub) -> None:
    p = sub.add_parser("conformance", help="run smbtorture tests against Samba and fake_smb, "
                       "side by side")
    p.add_argument("--suite", action="append", default=[], metavar="SUITE",
                   help="an smbtorture suite, e.g. smb2.lock (repeatable)")
    p.add_argument("--test", action="append", default=[], metavar="NAME",
                   help="one smbtorture test, e.g. smb2.lock.rw-shared (repeatable)")
    # Not required=True: the old --out must be able to stand in for it.
    p.add_argument("--report-dir", type=Path, metavar="DIR",
                   help="where conformance.md, conformance.json and logs/ are written "
                        "(required)")
    renamed(p, "--out", "--report-dir", dest="report_dir", type=Path, metavar="DIR")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="bound on each test against each server (default: 60)")
    p.add_argument("--allowlist", type=Path, default=conformance.ALLOWLIST, metavar="FILE",
                   help="known gaps with reasons (default: the one in fake_smb/)")
    p.set_defaults(func=conformance_command)


class _Progress:
    """A rich progress bar on a terminal; nothing otherwise."""

    def __init__(self, total: int) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), console=Console(stderr=True),
                                transient=True)
            self.task = self.bar.add_task("smbtorture", total=total)

    def __enter__(self) -> Self:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()

    def start(self, index: int, test: str, server: str) -> None:
        if self.bar:
            self.bar.update(self.task, description=f"{test} on {server}")

    def row(self, index: int, row: conformance.Row) -> None:
        if self.bar:
            self.bar.advance(self.task)
            if row.unexpected:
                self.bar.console.print(f"[red]gap[/red] {row.test}: {row.fake_smb.status} "
                                       f"({row.fake_smb.detail})")


def conformance_command(args: argparse.Namespace) -> int:
    try:
        if args.report_dir is None:
            raise TortureError("name a folder for the report with --report-dir DIR")
        if not args.suite and not args.test:
            raise TortureError("name at least one --suite or --test (e.g. --suite smb2.lock)")
        if args.timeout <= 0:
            raise TortureError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
        exe = find_smbtorture()
        allowlist = conformance.load_allowlist(args.allowlist)
        chosen = conformance.select_tests(args.suite, args.test, exe)
        with _Progress(len(chosen)) as progress:
            result = conformance.run(chosen, timeout=args.timeout, allowlist=allowlist,
                                     log_dir=args.report_dir / "logs", on_start=progress.start,
                                     on_row=progress.row, smbtorture=exe)
    except TortureError as exc:
        print(f"ibs fake-smb conformance: {exc}", file=sys.stderr)
        return 2
    except (SambaError, OSError) as exc:
        print(f"ibs fake-smb conformance: {exc}", file=sys.stderr)
        return 1
    md, _js = conformance_report.write(result, args.report_dir)
    t = result.totals()
    print(f"{t['tests']} tests: Samba passes {t['samba_passes']}, fake_smb passes "
          f"{t['fake_smb_passes']}; fake_smb fails {t['fake_smb_fails_where_samba_passes']} "
          f"that Samba passes, {t['allowlisted']} of them allowlisted. Table: {md}")
    if result.stale:
        print(f"no longer gaps, remove from the allowlist: {', '.join(result.stale)}")
    if result.unexpected:
        print("fake_smb fails where Samba passes, not allowlisted: "
              + ", ".join(result.unexpected), file=sys.stderr)
    return result.exit_code
