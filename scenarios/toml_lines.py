"""Where each table and key of a TOML text was written, for error messages.

tomllib returns values without positions, so ``LineIndex`` reads the text once more, line by
line, and records the first line of every path: ``("settings",)`` for ``[settings]``,
``("events", 2, "at")`` for ``at`` in the third ``[[events]]``. One pass, then each lookup is
a dictionary probe, so a file with ten thousand events is located as fast as it is parsed.

It trusts that tomllib accepted the text; it only has to tell headers and keys apart from the
insides of strings and of arrays or inline tables that run over several lines.
"""

from __future__ import annotations

import re
import tomllib
from typing import Literal

Path = tuple[str | int, ...]
Form = Literal["table", "array", "key"]  # [x], [[x]], x = ...

_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_ARRAY_HEADER = re.compile(rf"\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE_HEADER = re.compile(rf"\s*\[\s*({_DOTTED})\s*\]")
_KEY = re.compile(rf"\s*({_DOTTED})\s*=")
_PARTS = re.compile(_PART)
# What can open or close something that runs past the end of a line.
_TOKEN = re.compile(r'"""|\'\'\'|"(?:[^"\\]|\\.)*"|\'[^\']*\'|#|[\[\]{}]')
# A closing delimiter may take one or two more quotes as the string's own: """a"""" is 'a"'.
_CLOSE = {'"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*"{3,5}'),
          "'''": re.compile(r"(?:[^']|'(?!''))*'{3,5}")}


def _names(dotted: str) -> list[str]:
    """The parts of a dotted key, quotes removed as TOML reads them."""
    out = []
    for part in _PARTS.findall(dotted):
        out.append(tomllib.loads(f"k = {part}")["k"] if part[0] in "\"'" else part)
    return out


class LineIndex:
    """The first line of every table and key path in a TOML text that tomllib accepted."""

    def __init__(self, text: str) -> None:
        self._first: dict[Path, tuple[int, Form]] = {}
        arrays: dict[Path, int] = {}  # [[x]] seen so far, by the path of x
        table: Path = ()
        depth, pending = 0, None  # brackets open; the closing quotes of a multi-line string
        # Only \n ends a line for TOML and for tomllib's line numbers; str.splitlines() would
        # also split at a \x0c or \u2028 inside a string.
        for number, line in enumerate(text.split("\n"), 1):
            pos = 0
            if depth == 0 and pending is None:
                if m := _ARRAY_HEADER.match(line):
                    table = self._header(_names(m.group(1)), arrays, number, array=True)
                elif m := _TABLE_HEADER.match(line):
                    table = self._header(_names(m.group(1)), arrays, number, array=False)
                elif m := _KEY.match(line):
                    path = table
                    for name in _names(m.group(1)):
                        path += (name,)
                        self._first.setdefault(path, (number, "key"))
                if m:
                    pos = m.end()
            depth, pending = _scan(line, pos, depth, pending)

    def _header(self, names: list[str], arrays: dict[Path, int], number: int, *,
                array: bool) -> Path:
        path: Path = ()
        for i, name in enumerate(names):
            path += (name,)
            last = i == len(names) - 1
            if last and array:
                count = arrays.get(path, 0)
                arrays[path] = count + 1
                self._first.setdefault(path, (number, "array"))
                path += (count,)
            elif path in arrays:  # [a.b] after [[a]] belongs to the latest a
                path += (arrays[path] - 1,)
            self._first.setdefault(path, (number, "table"))
        return path

    def line(self, *path: str | int) -> int:
        """The line of ``path``, or of its nearest parent written in the text (an inline table
        or array holds its members on its own line); 1 when nothing is."""
        return self.find(path)[0]

    def form(self, *path: str | int) -> Form | None:
        """How ``path`` was first written, or None if it was not written as itself."""
        found = self._first.get(path)
        return found[1] if found else None

    def find(self, path: Path) -> tuple[int, Form | None]:
        while path:
            if path in self._first:
                return self._first[path]
            path = path[:-1]
        return 1, None


def _scan(line: str, pos: int, depth: int, pending: str | None) -> tuple[int, str | None]:
    """Bracket depth and any unclosed multi-line string after reading the rest of ``line``."""
    while True:
        if pending is not None:
            m = _CLOSE[pending].match(line, pos)
            if m is None:
                return depth, pending
            pos, pending = m.end(), None
        m = _TOKEN.search(line, pos)
        if m is None:
            return depth, None
        token = m.group()
        if token == "#":
            return depth, None
        if token in ('"""', "'''"):
            pending = token
        elif token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
        pos = m.end()
