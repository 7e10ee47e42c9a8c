"""Where backups are written: the ``Share`` interface and its implementations."""

from ibs.engine.share.base import Share, ShareStat, join, validate_relpath
from ibs.engine.share.local import LocalShare

__all__ = ["Share", "ShareStat", "LocalShare", "join", "validate_relpath"]
