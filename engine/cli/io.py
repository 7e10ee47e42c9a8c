"""What the commands share: reading secrets, printing tables and JSON, showing progress."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from ibs.engine.errors import BadInput
from ibs.engine.units import human_bytes  # noqa: F401  (re-exported for the commands)

ENV_SHARE_PASSWORD = "IBS_SHARE_PASSWORD"
ENV_PFX_PASSWORD = "IBS_PFX_PASSWORD"
JSON_HELP = "print JSON with the REST API's names instead of text"
ID_HELP = "the backup's id, or a unique start of it (as 'ibs backup list' shows)"

# Off a terminal (pipes, CI logs) a wide console keeps ids and paths on one line.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def read_secret(path: str | None, env: str, what: str, *, required: bool, prompt: bool = False,
                confirm: bool = False) -> str | None:
    """A password from ``--...-password-file`` (``-`` is stdin: a prompt without echo at a
    terminal), else ``$env``, else a prompt at a terminal when ``prompt``."""
    if path == "-" and sys.stdin.isatty():
        # At a terminal '-' means "ask me": a prompt, nothing echoed (a pipe is read as before).
        value = getpass.getpass(f"{what.capitalize()}: ")
        if confirm and getpass.getpass(f"Repeat the {what}: ") != value:
            raise BadInput(f"the two {what}s differ")
        if not value:
            raise BadInput(f"the {what} typed is empty")
        return value
    if path is not None:
        where = "given on stdin" if path == "-" else f"file {path}"
        try:
            if path == "-":
                raw = sys.stdin.buffer.read()
            else:
                with open(path, "rb") as f:
                    raw = f.read()
        except OSError as exc:
            raise BadInput(f"cannot read the {what} {where}: {exc.strerror}") from None
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(
                f"the {what} {where} is not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x}); "
                "save the password as UTF-8") from None
        value = data.rstrip("\r\n")
        if not value:
            raise BadInput(f"the {what} {where} is empty")
        return value
    if os.environ.get(env):
        return os.environ[env]
    if prompt and sys.stdin.isatty():
        value = getpass.getpass(f"{what.capitalize()}: ")
        if confirm and getpass.getpass(f"Repeat the {what}: ") != value:
            raise BadInput(f"the two {what}s differ")
        if value:
            return value
    if required:
        raise BadInput(f"a {what} is needed: give --{what.replace(' ', '-')}-file FILE (or -) or set {env}")
    return None


def add_store_option(p) -> None:
    """``--store`` after the command too (``ibs config show --store X``); SUPPRESS keeps the
    value of ``ibs --store X config show`` when it is given before instead."""
    p.add_argument("--store", default=argparse.SUPPRESS, metavar="DIR",
                   help="state directory (as 'ibs --store DIR', which it overrides; default "
                   "$IBS_STORE, else the XDG state directory)")


def read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise BadInput(f"cannot read {what} {path}: {exc.strerror}") from None


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True) + "\n")


def table(*columns: str, title: str | None = None) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for c in columns:
        t.add_column(c)
    return t


@contextlib.contextmanager
def progress_bar(label: str, total: int, enabled: bool) -> Iterator[Any]:
    """A transfer bar on a terminal; a no-op callback elsewhere (or with --json)."""
    if not enabled or not err.is_terminal:
        yield lambda done=None, advance=None: None
        return
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=err, transient=True) as p:
        task = p.add_task(label, total=total or None)

        def update(done: int | None = None, advance: int | None = None) -> None:
            if done is not None:
                p.update(task, completed=done)
            if advance is not None:
                p.advance(task, advance)

        yield update
