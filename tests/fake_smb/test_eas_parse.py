"""The EA list codec and name rule of fake_smb/eas.py, as properties: parse what pack wrote,
parse or raise MalformedEaList on anything else, entries 4-byte aligned."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibs.fake_smb import eas

names = st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), min_size=1, max_size=40)
ea_lists = st.lists(st.tuples(names, st.binary(max_size=60)), max_size=6)


@given(ea_lists)
def test_parse_reads_what_pack_wrote(pairs):
    if not pairs:
        return  # an empty list packs to nothing, which is no list
    assert eas.parse_list(eas.pack_list(pairs)) == pairs


@given(ea_lists.filter(bool))
def test_entries_but_the_last_are_4_byte_aligned(pairs):
    buf, offset = eas.pack_list(pairs), 0
    while True:
        (following,) = struct.unpack_from("<I", buf, offset)
        if not following:
            break
        assert following % 4 == 0
        offset += following
    assert len(buf) == offset + 8 + len(pairs[-1][0]) + 1 + len(pairs[-1][1])


@given(st.binary(max_size=120))
def test_any_bytes_parse_or_raise_malformed(buf):
    try:
        pairs = eas.parse_list(buf)
    except eas.MalformedEaList:
        return
    assert pairs and all(isinstance(n, str) and isinstance(v, bytes) for n, v in pairs)


@given(ea_lists.filter(bool), st.data())
def test_a_cut_list_is_malformed_or_the_entries_before_the_cut(pairs, data):
    # Samba reads on while 4 more bytes remain: a list cut between entries is the entries before.
    whole = eas.pack_list(pairs)
    cut = data.draw(st.integers(0, len(whole) - 1))
    try:
        got = eas.parse_list(whole[:cut])
    except eas.MalformedEaList:
        return
    assert got == pairs[: len(got)] and len(got) < len(pairs)


@pytest.mark.parametrize(("name", "invalid"), [
    ("EAONE", False), ("user.x-y_z", False), ("with space", False), ("", True),
    *((f"a{c}b", True) for c in '"*+,/:;<=>?[\\]|'), ("a\x01b", True), ("a\x1fb", True),
])
def test_names_windows_refuses(name, invalid):
    assert eas.invalid_name(name) == invalid
