"""UNC parsing: canonical round trip and clear refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibs.engine.errors import BadInput
from ibs.engine.share.unc import UncPath, is_unc, parse_unc

_label = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?\Z")
_ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
# An all-digit dotted name reads as an IPv4 address (and "300.1.2" as a broken one): refused.
_name = st.one_of(_label, st.lists(_label, min_size=2, max_size=4).map(".".join)).filter(
    lambda h: not all(label.isdigit() for label in h.split("."))
)
_host = st.one_of(_name, _ipv4)
_name_chars = st.characters(
    blacklist_characters='"*:<>?|/\\', blacklist_categories=("Cc", "Cs"), min_codepoint=32
)
_component = st.text(_name_chars, min_size=1, max_size=20).filter(
    lambda s: s not in (".", "..") and not s.endswith((" ", "."))
)


@st.composite
def unc_paths(draw: st.DrawFn) -> str:
    sep = draw(st.sampled_from(["\\", "/"]))
    parts = [draw(_host), draw(_component)] + draw(st.lists(_component, max_size=4))
    return sep * 2 + sep.join(parts) + draw(st.sampled_from(["", sep]))


@given(unc_paths())
def test_canonical_round_trip(path: str) -> None:
    parsed = parse_unc(path)
    assert parse_unc(str(parsed)) == parsed
    assert str(parse_unc(str(parsed))) == str(parsed)
    assert is_unc(path)


def test_fields_and_forms() -> None:
    assert parse_unc(r"\\fs01.contoso.com\backup\hub1\infra") == UncPath(
        "fs01.contoso.com", "backup", "hub1\\infra"
    )
    assert parse_unc("//10.0.0.5/backup") == UncPath("10.0.0.5", "backup", "")
    assert str(parse_unc("//10.0.0.5/backup/a/b/")) == r"\\10.0.0.5\backup\a\b"
    assert parse_unc(r"\\host\share\a").tree == r"\\host\share"
    assert parse_unc(r"\\host\share\a\b").folder_parts == ("a", "b")


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("", "expected"),
        ("C:\\backup", "expected"),
        ("/mnt/backup", "expected"),
        (r"\\host", "share name is missing"),
        (r"\\\share", "host is empty"),
        (r"\\host\\folder", "empty component"),
        (r"\\host\share\\x", "empty component"),
        (r"\\host\share\..\x", "'..'"),
        (r"\\host\share\.", "'.'"),
        (r"\\host\sh*re", "not allowed"),
        (r"\\host\share\a:b", "not allowed"),
        ("\\\\host\\share\\a\x01b", "not allowed"),
        (r'\\host\share\what?', "not allowed"),
        (r"\\ho st\share", "not a valid host"),
        (r"\\300.1.1.1\share", "not a valid IPv4"),
        (r"\\-bad\share", "not a valid host"),
        (r"\\host\share\trailing ", "end with a space"),
    ],
)
def test_malformed_paths_raise_bad_input(path: str, fragment: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_unc(path)
    message = str(info.value)
    assert fragment in message
    assert "malformed UNC path" in message and "\n" not in message


@given(st.text(max_size=40))
def test_anything_parses_or_raises_bad_input(text: str) -> None:
    try:
        parsed = parse_unc(text)
    except BadInput:
        return
    assert parse_unc(str(parsed)) == parsed
