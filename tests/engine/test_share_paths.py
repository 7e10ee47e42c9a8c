"""A share path is accepted only when it is clean and relative; a leftover is named as one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibs.engine import layout
from ibs.engine.errors import BadInput
from ibs.engine.share import validate_relpath

# Paths built from the parts that matter: names, dots, empty parts, separators both ways.
_PATHS = st.lists(st.sampled_from(["MASBackup", "a", ".", "..", "", ".partial-x", "a.b", "\\",
                                   "x\x00", "/", "..."]), max_size=5).map("/".join)


def _clean(path: str) -> bool:
    # The rule as a user reads it: relative, no empty, "." or ".." part, no backslash or NUL.
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


@given(_PATHS)
def test_a_path_is_accepted_exactly_when_it_is_clean(path):
    if _clean(path):
        assert validate_relpath(path) == path
    else:
        with pytest.raises(BadInput):
            validate_relpath(path)


@given(st.sampled_from([".partial-", ".deleting-", ".partial", ".deleting", "deleting-", ".", ""]),
       st.text(alphabet=".-ab", max_size=4))
def test_a_leftover_is_what_a_partial_or_deleting_name_starts(head, tail):
    name = head + tail
    expected = name[:9] == ".partial-" or name[:10] == ".deleting-"
    assert layout.is_leftover_name(name) == expected
    assert name.startswith(layout.LEFTOVER_PREFIXES) == expected
