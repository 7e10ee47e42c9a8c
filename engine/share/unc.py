"""UNC paths: ``\\\\host\\share[\\folder\\sub]``, the way a storage location is written.

Forward slashes are accepted too (``//host/share/folder``). The host is a name, an FQDN or an
IPv4 address; the share and folder components must be valid SMB names ([MS-FSCC] 2.1.5.1:
no ``"*:<>?|``, no control characters) and never ``.`` or ``..``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ibs.engine.errors import BadInput

_BAD_CHARS = set('"*:<>?|/\\') | {chr(c) for c in range(32)} | {"\x7f"}
# RFC 1123 labels; a NetBIOS name is a subset of this in practice.
_HOST_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
_SHARE_MAX = 80  # Windows refuses share names longer than 80 characters.
_COMPONENT_MAX = 255  # [MS-FSCC] 2.1.5: a path component is at most 255 characters.

_EXPECTED = "expected \\\\host\\share[\\folder]"


def _fail(path: str, why: str) -> BadInput:
    return BadInput(f"malformed UNC path {path!r}: {why}; {_EXPECTED}")


@dataclass(frozen=True, slots=True)
class UncPath:
    host: str
    share: str
    folder: str = ""  # backslash-separated, no leading or trailing separator; "" is the share root

    @property
    def folder_parts(self) -> tuple[str, ...]:
        return tuple(self.folder.split("\\")) if self.folder else ()

    @property
    def tree(self) -> str:
        """The path a TREE_CONNECT names ([MS-SMB2] 2.2.9): ``\\\\host\\share``."""
        return f"\\\\{self.host}\\{self.share}"

    def __str__(self) -> str:
        return self.tree + (f"\\{self.folder}" if self.folder else "")


def is_unc(path: str) -> bool:
    """Whether ``path`` looks like a UNC path at all (well-formed or not)."""
    return isinstance(path, str) and len(path) > 2 and path[:2] in ("\\\\", "//")


def _check_host(path: str, host: str) -> str:
    if not host:
        raise _fail(path, "the host is empty")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    if len(host) > 253:
        raise _fail(path, "the host name is longer than 253 characters")
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if all(label.isdigit() for label in labels):
        raise _fail(path, f"{host!r} is not a valid IPv4 address")
    for label in labels:
        if not _HOST_LABEL.match(label):
            raise _fail(path, f"{host!r} is not a valid host name")
    return name


def _check_component(path: str, part: str, what: str, limit: int) -> str:
    if not part:
        raise _fail(path, f"the {what} has an empty component")
    if part in (".", ".."):
        raise _fail(path, f"the {what} must not contain {part!r}")
    bad = sorted({c for c in part if c in _BAD_CHARS})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise _fail(path, f"the {what} {part!r} contains characters not allowed in SMB names: {shown}")
    if part != part.rstrip(" ") or part.endswith("."):
        raise _fail(path, f"the {what} {part!r} must not end with a space or a dot")
    if len(part) > limit:
        raise _fail(path, f"the {what} {part[:20]!r}... is longer than {limit} characters")
    return part


def parse_unc(path: str) -> UncPath:
    """Parse ``path`` or raise ``BadInput`` with a one-line message that says what is wrong."""
    if not isinstance(path, str) or not is_unc(path):
        raise BadInput(f"malformed UNC path {path!r}: {_EXPECTED}")
    body = path[2:].replace("/", "\\")
    if body.endswith("\\"):
        body = body[:-1]  # one trailing separator is harmless: \\host\share\
    parts = body.split("\\")
    if len(parts) < 2:
        raise _fail(path, "the share name is missing")
    host = _check_host(path, parts[0])
    share = _check_component(path, parts[1], "share name", _SHARE_MAX)
    folder = [_check_component(path, p, "folder", _COMPONENT_MAX) for p in parts[2:]]
    return UncPath(host=host, share=share, folder="\\".join(folder))
