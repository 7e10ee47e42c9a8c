"""The shell blocks and relative links of the project's Markdown, as the docs tests read them.

A fenced ``sh`` (or ``bash``, ``shell``) block is run as written. The line just before its fence
may hold a marker saying otherwise, always with the reason:

    <!-- docs-test: parse-only; needs an SMB file server -->   each ``ibs`` command is parsed
                                                               by ibs's own parser, not run
    <!-- docs-test: skip; installs Debian packages as root -->  not run at all
    <!-- docs-test: needs; curl openssl -->                     run, skipped when a tool named
                                                               is not installed
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL = ("sh", "bash", "shell")
MODES = ("run", "needs", "parse-only", "skip")
_MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<mode>[\w-]+)\s*(?:;\s*(?P<why>.*?))?\s*-->")
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<lang>[\w+-]*)")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    mode: str
    why: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    """README.md and every Markdown file under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, with the marker before it (mode ``run`` when none)."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, fence = i, m["fence"]
        i += 1
        body = []
        while i < len(lines) and not lines[i].lstrip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        mode, why = "run", ""
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = _MARKER.search(lines[before]) if before >= 0 else None
        if marker:
            mode, why = marker["mode"], (marker["why"] or "").strip()
        found.append(Block(path, start + 1, m["lang"].lower(), mode, why,
                           "\n".join(body) + "\n"))
    return found


def shell_blocks() -> list[Block]:
    return [b for path in documents() for b in blocks(path) if b.lang in SHELL]


def ibs_commands(script: str) -> list[list[str]]:
    """The argument lists of every ``ibs`` (or ``.venv/bin/ibs``) command in a shell script:
    continuation lines joined, comments dropped, split at line ends (outside quotes), ``&&``,
    ``||``, ``;``, ``|`` and ``&``."""
    commands: list[list[str]] = []
    pending = ""
    for line in script.replace("\\\n", " ").splitlines():
        pending += line + "\n"
        try:
            tokens = _tokens(pending)
        except ValueError:  # a quotation goes on to the next line
            continue
        pending = ""
        current: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set(";&|"):
                if current and (current[0] == "ibs" or current[0].endswith("/ibs")):
                    commands.append(current[1:])
                current = []
            else:
                current.append(token)
    return commands


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link that is not a URL or a same-page anchor; links
    inside fenced blocks and inline code are not links."""
    found = []
    in_fence = False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for m in _LINK.finditer(re.sub(r"`[^`]*`", "", line)):
            target = m["target"]
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue
            found.append((n, target))
    return found
