"""Parsing the command line, dispatching, and turning errors into one line and an exit code.

Other packages add commands (``ibs fake-smb``, ``ibs simulate``, ``ibs run``...) through the
``ibs.commands`` entry point group, so the engine never imports them.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

from engine.cli import commands
from engine.errors import IbsError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default prints usage; one line is enough
        self.exit(2, f"ibs: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ibs", description="Public-key-encrypted full backups to an SMB share, "
                "and a simulator of Azure Stack Hub's Infrastructure Backup Service.",
                epilog="exit codes: 0 success, 1 the operation failed, 2 bad input, 3 the one "
                "job slot is taken, 4 the backup completed with warnings (PartialSucceeded: "
                "some files or roles were not backed up; see its warnings)")
    p.add_argument("--store", metavar="DIR", help="state directory (default: $IBS_STORE, "
                   "else the XDG state directory)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           parser_class=_Parser)
    commands.register(sub)
    for ep in sorted(entry_points(group="ibs.commands"), key=lambda e: e.name):
        ep.load()(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IbsError as exc:
        print(f"ibs: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ibs: interrupted", file=sys.stderr)
        return 130


