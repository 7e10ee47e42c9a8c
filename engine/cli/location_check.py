"""Checking a storage location before ``ibs config set`` stores it, as Set-AzsBackupConfiguration
does: connect with the credentials, create the backup folder, write and delete a small file.

The check goes through the same share code as a backup, so a failure carries the category a
backup would raise (Connectivity, Authentication, PathFault, ShareCapacity, GeneralFault).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ibs.engine import layout
from ibs.engine.controller import Controller
from ibs.engine.errors import IbsError, ShareError
from ibs.engine.settings import Settings
from ibs.engine.share import Share

PROBE_PREFIX = ".ibs-check-"  # hidden: never taken for a backup, even if left behind


class LocationCheckFailed(IbsError):
    """The location to be stored cannot be used; nothing was stored."""

    def __init__(self, path: str, cause: ShareError) -> None:
        super().__init__(
            "the storage location failed its check, nothing was changed: "
            f"{cause.category.value}: {cause}; fix it, or give --no-check to store it unchecked")
        self.category = cause.category


@dataclass(frozen=True)
class Checked:
    location: str  # as the share describes itself
    free_bytes: int


def probe(share: Share) -> Checked:
    """Connect, create the backup folder, write and delete a file in it; the free space."""
    with share:
        share.makedirs(layout.ROOT)
        name = f"{layout.ROOT}/{PROBE_PREFIX}{secrets.token_hex(6)}"
        share.write_bytes(name, b"ibs config set: can this location be written?\n")
        share.remove(name)
        return Checked(share.describe(), share.free_space())


def check_location(ctl: Controller, new: Settings, password: str | None) -> Checked:
    """``probe`` the location ``new`` names, with ``password`` (else the stored one)."""
    assert new.path is not None
    secret = password if password is not None else ctl.share_password()
    try:
        return probe(ctl.share_factory(new, secret))
    except ShareError as exc:
        raise LocationCheckFailed(new.path, exc) from None
