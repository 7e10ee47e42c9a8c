"""The self-relative descriptor codec and the part rules of fake_smb/security.py, as properties:
parse what pack wrote, parse or raise MalformedDescriptor on anything else, pick exactly the
parts asked, set exactly the parts sent."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from ibs.fake_smb import security as sec

sids = st.builds(
    lambda auth, subs: sec.sid_from_string("-".join(["S", "1", str(auth), *map(str, subs)])),
    st.integers(0, 2**48 - 1), st.lists(st.integers(0, 2**32 - 1), max_size=15))
aces = st.tuples(st.integers(0, 0x11), st.integers(0, 0xFF), st.integers(0, 2**32 - 1), sids)
acls = st.lists(aces, max_size=6).map(sec.make_acl)
descriptors = st.builds(sec.SecurityDescriptor,
                        control=st.integers(0, 0xFFFF).map(lambda c: c | sec.SE_SELF_RELATIVE),
                        owner=st.none() | sids, group=st.none() | sids,
                        sacl=st.none() | acls, dacl=st.none() | acls)
parts = st.integers(0, 0xFF)


@given(descriptors)
def test_parse_reads_what_pack_wrote(sd):
    assert sec.parse(sec.pack(sd)) == sd


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_malformed(buf):
    try:
        sd = sec.parse(buf)
    except sec.MalformedDescriptor:
        return
    assert sec.parse(sec.pack(sd)) == sd


@given(descriptors.filter(lambda sd: any((sd.owner, sd.group, sd.sacl, sd.dacl))), st.data())
def test_a_cut_descriptor_is_malformed(sd, data):
    whole = sec.pack(sd)
    cut = data.draw(st.integers(0, len(whole) - 1))
    try:
        sec.parse(whole[:cut])
    except sec.MalformedDescriptor:
        return
    raise AssertionError(f"{cut} of {len(whole)} bytes parsed")


@given(st.binary(min_size=20, max_size=60))
def test_a_sid_count_past_fifteen_is_malformed(tail):
    sid = bytes([1, 16]) + bytes(6) + bytes(64)
    buf = struct.pack("<BBHIIII", 1, 0, 0x8000, 20, 0, 0, 0) + sid + tail
    try:
        sec.parse(buf)
    except sec.MalformedDescriptor:
        return
    raise AssertionError("a SID of 16 sub-authorities parsed")


@given(descriptors, parts)
def test_select_answers_exactly_the_parts_asked(sd, wanted):
    picked = sec.select(sd, wanted)
    if not wanted & 0xF:
        assert picked == sec.SecurityDescriptor()
        return
    assert picked.owner == (sd.owner if wanted & sec.OWNER_SECURITY_INFORMATION else None)
    assert picked.group == (sd.group if wanted & sec.GROUP_SECURITY_INFORMATION else None)
    assert picked.dacl == (sd.dacl if wanted & sec.DACL_SECURITY_INFORMATION else None)
    assert picked.sacl == (sd.sacl if wanted & sec.SACL_SECURITY_INFORMATION else None)
    assert bool(picked.control & sec.SE_DACL_PRESENT) == bool(wanted & sec.DACL_SECURITY_INFORMATION)
    assert bool(picked.control & sec.SE_SACL_PRESENT) == bool(wanted & sec.SACL_SECURITY_INFORMATION)


@given(descriptors, descriptors, parts)
def test_merge_sets_the_parts_sent_and_keeps_the_rest(old, new, sent):
    merged = sec.merge(old, new, sent)
    for flag, part in ((sec.OWNER_SECURITY_INFORMATION, "owner"), (sec.GROUP_SECURITY_INFORMATION, "group")):
        assert getattr(merged, part) == getattr(new if sent & flag else old, part)
    for flag, part, present in ((sec.DACL_SECURITY_INFORMATION, "dacl", sec.SE_DACL_PRESENT),
                                (sec.SACL_SECURITY_INFORMATION, "sacl", sec.SE_SACL_PRESENT)):
        if not sent & flag:
            assert getattr(merged, part) == getattr(old, part)
        elif getattr(new, part) is None or not new.control & present:
            assert getattr(merged, part) is None
        else:
            kept = sec.aces(getattr(merged, part))
            given_aces = sec.aces(getattr(new, part))
            assert [(t, f, s) for t, f, _m, s in kept] == [(t, f, s) for t, f, _m, s in given_aces]
            assert all(not mask & 0xF0000000 for _t, _f, mask, _s in kept)  # no generic rights kept


def test_generic_rights_map_to_file_rights():
    owner = sec.sid_from_string("S-1-22-1-0")
    acl = sec.make_acl([(0, 0, 0x10000000, owner), (0, 0, 0x80000000, owner), (0, 0, 0x40000000, owner),
                        (0, 0, 0x20000000 | 0x00020000, owner)])
    merged = sec.merge(sec.SecurityDescriptor(), sec.SecurityDescriptor(sec.SE_DACL_PRESENT, dacl=acl),
                       sec.DACL_SECURITY_INFORMATION)
    assert [m for _t, _f, m, _s in sec.aces(merged.dacl)] == [0x001F01FF, 0x00120089, 0x00120116, 0x001200A0 | 0x00020000]


def test_sid_strings_round_trip():
    for text in ("S-1-1-0", "S-1-5-32-544", "S-1-22-1-1000", "S-1-5-21-1-2-3-500"):
        assert sec.sid_to_string(sec.sid_from_string(text)) == text
