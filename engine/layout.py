"""Where things live on the share (docs/FORMAT.md, "Layout").

A folder named by a GUID under ``MASBackup`` is a complete backup and nothing else is: a
backup is written under ``MASBackup/.partial-<id>`` and renamed to its GUID as the last step;
a backup being deleted is first renamed to ``MASBackup/.deleting-<id>``.
"""

from __future__ import annotations

import re
import uuid

ROOT = "MASBackup"
PARTIAL_PREFIX = ".partial-"
DELETING_PREFIX = ".deleting-"
MANIFEST = "manifest.json"
#: What a leftover's name starts with (``is_leftover_name``).
LEFTOVER_PREFIXES = (PARTIAL_PREFIX, DELETING_PREFIX)
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def backup_dir(backup_id: uuid.UUID | str) -> str:
    return f"{ROOT}/{backup_id}"


def partial_dir(backup_id: uuid.UUID | str) -> str:
    return f"{ROOT}/{PARTIAL_PREFIX}{backup_id}"


def is_backup_name(name: str) -> bool:
    return bool(_GUID.match(name))


def deleting_dir(backup_id: uuid.UUID | str) -> str:
    return f"{ROOT}/{DELETING_PREFIX}{backup_id}"


def is_leftover_name(name: str) -> bool:
    """A folder an interrupted write or delete left behind; never a complete backup."""
    return name.startswith(LEFTOVER_PREFIXES)
