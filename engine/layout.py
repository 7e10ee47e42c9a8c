"""Where things live on the share (docs/FORMAT.md, "Layout").

A folder named by a GUID under ``MASBackup`` is a complete backup and nothing else is: a
backup is written under ``MASBackup/.partial-<id>`` and renamed to its GUID as the last step.
"""

from __future__ import annotations

import re
import uuid

ROOT = "MASBackup"
PARTIAL_PREFIX = ".partial-"
MANIFEST = "manifest.json"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def backup_dir(backup_id: uuid.UUID | str) -> str:
    return f"{ROOT}/{backup_id}"


def partial_dir(backup_id: uuid.UUID | str) -> str:
    return f"{ROOT}/{PARTIAL_PREFIX}{backup_id}"


def is_backup_name(name: str) -> bool:
    return bool(_GUID.match(name))


def is_partial_name(name: str) -> bool:
    return name.startswith(PARTIAL_PREFIX)
