"""Parsing the command line, dispatching, and turning errors into one line and an exit code.

Other packages add commands (``ibs fake-smb``, ``ibs simulate``, ``ibs run``...) through the
``ibs.commands`` entry point group, so the engine never imports them. An entry point is named
for the command it adds, and only the chosen command's plugin is imported: a plugin that does
not import breaks its own command, never ``ibs backup restore``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import EntryPoint, PackageNotFoundError, entry_points, version
from typing import NoReturn

from ibs.engine.cli import commands
from ibs.engine.errors import IbsError

PLUGIN_GROUP = "ibs.commands"
DISTRIBUTION = "ibs-simulator"  # pyproject.toml's [project] name


class HelpFormatter(argparse.HelpFormatter):
    """Every option's default in its help, unless the text already names it; none is shown for
    a flag or an option whose absence means "not given"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (not action.option_strings or "default" in text or "%(default)" in text
                or default in (None, False, argparse.SUPPRESS) or default == []):
            return text
        return f"{text} (default %(default)s)" if text else "(default %(default)s)"


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:  # argparse's default prints usage; one line is enough
        self.exit(2, f"ibs: {message} (see '{self.prog} --help')\n")


class PluginError(IbsError):
    """The chosen command's plugin failed to import or to register its command."""


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command word argparse will pick from ``argv``: the first argument that is neither
    an option of ``ibs`` itself nor the value of ``--store`` (abbreviations included, as
    argparse accepts them)."""
    args = iter(argv)
    for arg in args:
        if arg == "--":
            return next(args, None)
        if arg.startswith("--") and len(arg) > 2:
            name = arg.partition("=")[0]
            if "--store".startswith(name) and "=" not in arg:
                next(args, None)  # the option's value
            continue
        if arg.startswith("-") and arg != "-":
            continue
        return arg
    return None


def _version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _plugins() -> list[EntryPoint]:
    return sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name)


def _load(ep: EntryPoint, sub) -> str | None:
    """Add ``ep``'s command; if that fails, why, in a few words."""
    try:
        ep.load()(sub)
    except Exception as exc:  # noqa: BLE001  (a plugin is foreign code: anything may be raised)
        return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: the engine's commands, the chosen plugin command loaded, and
    every other plugin command present by name only (so help and typos list them all).

    With no command chosen (``ibs --help``) every plugin is loaded for its help text; one that
    fails shows as unavailable instead of breaking the help.
    """
    p = _Parser(prog="ibs", description="Public-key-encrypted full backups to an SMB share, "
                "and a simulator of Azure Stack Hub's Infrastructure Backup Service.",
                epilog="exit codes: 0 success, 1 the operation failed, 2 bad input, 3 the one "
                "job slot is taken, 4 the backup completed with warnings (PartialSucceeded: "
                "some files or roles were not backed up; see its warnings)")
    p.add_argument("--version", action="version", version=f"ibs {_version()}",
                   help="print the installed version and exit")
    p.add_argument("--store", metavar="DIR", help="state directory (default: $IBS_STORE, "
                   "else the XDG state directory); also accepted after the command")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           parser_class=_Parser)
    commands.register(sub)
    chosen = chosen_command(sys.argv[1:] if argv is None else argv)
    for ep in _plugins():
        if chosen is not None and ep.name != chosen:
            sub.add_parser(ep.name, help=f"(from {ep.value})")
            continue
        why = _load(ep, sub)
        if why is None:
            continue
        if chosen is not None:
            raise PluginError(
                f"command '{ep.name}' is unavailable: its plugin {ep.value} failed to load ({why}); "
                "reinstall the package that provides it (the engine's own commands still work)")
        if ep.name not in sub.choices:  # the plugin may have failed after adding it
            sub.add_parser(ep.name, help=f"(unavailable: {ep.value} failed to load: {why})")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser(argv)
    except PluginError as exc:
        print(f"ibs: {exc}", file=sys.stderr)
        return exc.exit_code
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IbsError as exc:
        print(f"ibs: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ibs: interrupted", file=sys.stderr)
        return 130
