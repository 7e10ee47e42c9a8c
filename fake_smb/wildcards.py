"""Search patterns of QUERY_DIRECTORY, matched as Samba matches them (MS-FSA 2.1.4.4).

Besides ``*`` (any run of characters) and ``?`` (exactly one character), a Windows
client may send the DOS wildcards that its own API turns ``*`` and ``?`` into:

- ``<`` (DOS_STAR) any run of characters that does not go past the name's last dot
  (it may end on that dot);
- ``>`` (DOS_QM) one character other than a dot, or nothing at a dot or at the end;
- ``"`` (DOS_DOT) a dot, or nothing at the end of the name.

Names compare without regard to case, as on a Windows share.
"""

from __future__ import annotations

from functools import cache, lru_cache

WILDCARDS = frozenset('*?<>"')


def has_wildcards(pattern: str) -> bool:
    return any(c in WILDCARDS for c in pattern)


def matches(pattern: str, name: str) -> bool:
    """Whether ``name`` matches the search ``pattern``."""
    if pattern == "*":
        return True
    if not has_wildcards(pattern):
        return pattern.upper() == name.upper()
    return _match(pattern.upper(), name.upper())


@lru_cache(maxsize=4096)
def _match(p: str, n: str) -> bool:
    @cache
    def at(i: int, j: int) -> bool:
        """Whether p[i:] matches n[j:]."""
        while i < len(p):
            c = p[i]
            if c == "*":
                return any(at(i + 1, k) for k in range(j, len(n) + 1))
            if c == "<":
                last_dot = n.rfind(".", j)
                stop = len(n) if last_dot < 0 else last_dot + 1
                return any(at(i + 1, k) for k in range(j, stop + 1))
            if c == ">":
                if j == len(n):
                    i += 1
                    continue
                if n[j] == ".":
                    # Nothing before a dot; a final dot may also be taken.
                    return at(i + 1, j) or (j + 1 == len(n) and at(i + 1, j + 1))
                i, j = i + 1, j + 1
                continue
            if c == '"':
                if j == len(n):
                    i += 1
                    continue
                if n[j] != ".":
                    return False
                i, j = i + 1, j + 1
                continue
            if j == len(n) or (c != "?" and c != n[j]):
                return False
            i, j = i + 1, j + 1
        return j == len(n)

    return at(0, 0)
