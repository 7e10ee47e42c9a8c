"""The committed golden vectors, and the tree they restore to: loaders shared by the tests.

Imports nothing from engine/, so the independent reader's tests can use it too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent
VECTORS = json.loads((GOLDEN / "vectors.json").read_text())
TAMPERED = json.loads((GOLDEN / "tampered" / "tampered.json").read_text())
BACKUP_ID = VECTORS["backupId"]
PASSWORD = VECTORS["pfxPassword"]
PFX = (GOLDEN / "TEST-ONLY-golden.pfx").read_bytes()
RENEWED_PFX = (GOLDEN / "TEST-ONLY-renewed.pfx").read_bytes()
SHARE = GOLDEN / "share"
FOLDER = SHARE / "MASBackup" / BACKUP_ID


def tampered_share(name: str, tmp: Path) -> Path:
    """A copy of the golden share with variant ``name``'s files laid over the backup."""
    share = tmp / f"share-{name}"
    shutil.copytree(SHARE, share)
    overlay = GOLDEN / "tampered" / name
    for src in overlay.rglob("*"):
        if src.is_file():
            dest = share / "MASBackup" / BACKUP_ID / src.relative_to(overlay)
            dest.write_bytes(src.read_bytes())
    return share


def expected_tree(role: str) -> dict[bytes, tuple]:
    """What restoring ``role`` must give, keyed by path bytes ("" for the role's folder)."""
    out: dict[bytes, tuple] = {}
    for item in VECTORS["roles"][role]["tree"]:
        path = bytes.fromhex(item["pathHex"])
        if item["kind"] == "symlink":
            out[path] = ("symlink", bytes.fromhex(item["targetHex"]), item["mtimeNs"])
        elif item["kind"] == "dir":
            out[path] = ("dir", item["mode"], item["mtimeNs"])
        else:
            out[path] = ("file", item["mode"], item["mtimeNs"], item["size"], item["sha256"])
    return out


def actual_tree(folder: Path) -> dict[bytes, tuple]:
    """The same description of a restored folder, read with lstat (links not followed)."""
    root = os.fsencode(folder)
    out: dict[bytes, tuple] = {}

    def visit(path: bytes, rel: bytes) -> None:
        st = os.lstat(path)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("symlink", os.readlink(path), st.st_mtime_ns)
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", mode, st.st_mtime_ns)
            for name in sorted(os.listdir(path)):
                visit(os.path.join(path, name), rel + b"/" + name if rel else name)
        else:
            with open(path, "rb") as f:
                data = f.read()
            out[rel] = ("file", mode, st.st_mtime_ns, len(data), hashlib.sha256(data).hexdigest())

    visit(root, b"")
    return out
