"""Share usage and free space, with an optional quota in bytes.

The quota is what a full backup share looks like to the engine: writes that
would grow the share past it fail with STATUS_DISK_FULL, and the volume size
queries (FileFsSizeInformation, FileFsFullSizeInformation) report it.
"""

from __future__ import annotations

import os


def share_usage(root: str) -> int:
    """Bytes of file data under root (logical sizes; a walk per call is fine
    for test-sized shares and keeps the figure exact under any client)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass  # removed while we walked
    return total


def space(root: str, quota_bytes: int | None) -> tuple[int, int]:
    """(total, free) bytes of the share, the quota taking precedence."""
    if quota_bytes is not None:
        return quota_bytes, max(0, quota_bytes - share_usage(root))
    st = os.statvfs(root)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def would_exceed(root: str, quota_bytes: int | None, growth: int) -> bool:
    if quota_bytes is None or growth <= 0:
        return False
    return share_usage(root) + growth > quota_bytes
