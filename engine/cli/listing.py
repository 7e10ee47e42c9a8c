"""``ibs backup ls``: the files in a backup, with sizes and modes (as ``restic ls -l``).

The manifest names roles only (docs/FORMAT.md): the file list is in each role's encrypted
entry stream, so listing needs the .pfx and reads (and authenticates) the whole role, as
``verify`` does, writing nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from ibs.engine.backup_reader import BackupReader
from ibs.engine.cli.context import backup_id, controller, decryption_key
from ibs.engine.cli.human import when
from ibs.engine.cli.io import human_bytes, out, print_json, table
from ibs.engine.entries import Entry, Kind, Symlink
from ibs.engine.manifest import format_time
from ibs.engine.settings import check_role_name

_TYPE = {Kind.DIR: "directory", Kind.FILE: "file", Kind.SYMLINK: "symlink"}
_FMT = {Kind.DIR: stat.S_IFDIR, Kind.FILE: stat.S_IFREG, Kind.SYMLINK: stat.S_IFLNK}


@dataclass(frozen=True)
class Listed:
    role: str
    entry: Entry
    target: bytes | None = None  # a symlink's

    @property
    def path(self) -> str:
        # Names are bytes as the file system gave them; shown as UTF-8 where they are.
        rel = self.entry.path.decode("utf-8", "backslashreplace")
        return f"{self.role}/{rel}" if rel else self.role

    @property
    def modified(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.entry.mtime_ns / 1e9, dt.UTC)

    def to_json(self) -> dict[str, object]:
        return {"roleName": self.role, "path": self.path, "type": _TYPE[self.entry.kind],
                "mode": f"{self.entry.mode:04o}", "sizeBytes": self.entry.size,
                "modifiedDateTime": format_time(self.modified),
                "target": (self.target.decode("utf-8", "backslashreplace")
                           if self.target is not None else None)}


def entries(reader: BackupReader, roles: list[str]) -> Iterator[Listed]:
    for role in roles:
        for event in reader.events(role):
            if isinstance(event, Entry):
                yield Listed(role, event)
            elif isinstance(event, Symlink):
                yield Listed(role, event.entry, event.target)


def cmd_backup_ls(args: argparse.Namespace) -> int:
    if args.role is not None:
        check_role_name(args.role)
    ctl = controller(args)
    args.id = backup_id(ctl, args.id)
    key = decryption_key(args)
    with ctl.share() as share:
        reader = BackupReader(share, args.id)
        roles = [reader.role(args.role).name] if args.role else [r.name for r in reader.manifest.roles]
        reader.unlock(key)
        listed = list(entries(reader, roles))
    if args.json:
        print_json({"id": args.id, "files": [item.to_json() for item in listed]})
        return 0
    t = table("mode", "size", "modified", "path")
    for item in listed:
        e = item.entry
        size = "-" if e.kind is Kind.DIR else human_bytes(e.size)
        name = item.path + ("/" if e.kind is Kind.DIR else "")
        if item.target is not None:
            name += " -> " + item.target.decode("utf-8", "backslashreplace")
        t.add_row(stat.filemode(_FMT[e.kind] | e.mode), size, when(item.modified), name)
    out.print(t)
    return 0
