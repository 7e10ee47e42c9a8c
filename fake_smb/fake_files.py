"""The NTFS quota file `$Extend\\$Quota:$Q:$INDEX_ALLOCATION`, which Windows clients open
to manage quotas, and which smbd fakes (source3/smbd/fake_file.c): any CREATE naming it
opens a handle on nothing, whatever its disposition, outside the share modes, answered with
the attributes Windows Server 2016 gives it (hidden, system, directory, archive) and every
time and size zero (smbtorture smb2.create.quota-fake-file).

smbd opens it only for root, which its smbtorture peer runs as; fake_smb has no users to
tell apart and opens it for everyone. The handle is backed by a descriptor of the share's
folder, so QUERY_INFO and CLOSE work on it, under a name that exists nowhere: a rename or
a delete-on-close of it finds nothing to act on.
"""

from __future__ import annotations

import os

QUOTA_NAME = "$Extend\\$Quota:$Q:$INDEX_ALLOCATION"
ATTRIBUTES = 0x02 | 0x04 | 0x10 | 0x20  # HIDDEN | SYSTEM | DIRECTORY | ARCHIVE


def is_quota_file(name: str) -> bool:
    """smbd matches the name's start, with case (is_fake_file_path)."""
    return name.startswith(QUOTA_NAME)


def open_quota_file(root: str) -> tuple[int, str]:
    """A descriptor for the fake open and the name it goes by (one no file has)."""
    return os.open(root, os.O_RDONLY | os.O_DIRECTORY), os.path.join(root, "$Extend", "$Quota")
