"""QUERY_DIRECTORY as Samba answers it (smbtorture smb2.dir), driven through smbprotocol."""

from __future__ import annotations

import datetime
import os
import struct
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    SMB2QueryDirectoryRequest,
    SMB2QueryDirectoryResponse,
)

from ibs.fake_smb.wildcards import matches
from tests.fake_smb.raw_requests import open_file, query_info

RESTART, SINGLE, INDEX, REOPEN = 0x01, 0x02, 0x04, 0x10
DIRECTORY, FULL, BOTH, NAMES, ID_BOTH, ID_FULL = 1, 2, 3, 12, 37, 38
# Where FileNameLength sits and where the name starts, per class (MS-FSCC 2.4)
NAME_AT = {DIRECTORY: (60, 64), FULL: (60, 68), BOTH: (60, 94), NAMES: (8, 12),
           ID_BOTH: (60, 104), ID_FULL: (60, 80)}
STATUS_NO_MORE_FILES = 0x80000006
STATUS_NO_SUCH_FILE = 0xC000000F
STATUS_INFO_LENGTH_MISMATCH = 0xC0000004
STATUS_ACCESS_DENIED = 0xC0000022
INFO_FILE, FILE_BASIC, FILE_INTERNAL, FILE_ALTERNATE_NAME = 1, 4, 6, 21


@pytest.fixture
def tree(clients):
    return clients.login().tree


def open_dir(tree, name: str, access: int = FilePipePrinterAccessMask.GENERIC_ALL):
    return open_file(tree, name, access, CreateDisposition.FILE_OPEN_IF, CreateOptions.FILE_DIRECTORY_FILE)


def query(handle, pattern: str = "*", flags: int = 0, length: int = 4096, info_class: int = BOTH,
          index: int = 0) -> tuple[int, list[bytes]]:
    """(status, the raw entries) of one QUERY_DIRECTORY."""
    req = SMB2QueryDirectoryRequest()
    req.fields["file_information_class"].enum_strict = False  # to send classes it does not know
    req.fields["flags"].flag_strict = False
    req["file_information_class"] = info_class
    req["flags"] = flags
    req["file_index"] = index
    req["file_id"] = handle.file_id
    req["output_buffer_length"] = length
    req["buffer"] = pattern.encode("utf-16le")
    tree = handle.tree_connect
    conn = tree.session.connection
    try:
        response = conn.receive(conn.send(req, sid=tree.session.session_id, tid=tree.tree_connect_id))
    except SMBResponseException as exc:
        return exc.status, []
    resp = SMB2QueryDirectoryResponse()
    resp.unpack(response["data"].get_value())
    buf = resp["buffer"].get_value()
    assert len(buf) <= length
    entries, offset = [], 0
    while True:
        (step,) = struct.unpack_from("<I", buf, offset)
        assert step % 8 == 0, "entries start at 8-byte boundaries"
        entries.append(buf[offset: offset + step] if step else buf[offset:])
        if not step:
            return 0, entries
        offset += step


def name_of(entry: bytes, info_class: int = BOTH) -> str:
    at_len, at_name = NAME_AT[info_class]
    (length,) = struct.unpack_from("<I", entry, at_len)
    return entry[at_name: at_name + length].decode("utf-16le")


def list_all(handle, length: int = 4096, flags: int = 0, info_class: int = BOTH) -> list[str]:
    """Every name one enumeration gives, in order, until NO_MORE_FILES."""
    names: list[str] = []
    while True:
        status, entries = query(handle, flags=flags, length=length, info_class=info_class)
        if status == STATUS_NO_MORE_FILES:
            return names
        assert status == 0 and entries
        if flags & SINGLE:
            assert len(entries) == 1
        names += [name_of(e, info_class) for e in entries]


def make_folder(share, names) -> str:
    folder = f"d{uuid.uuid4().hex[:8]}"
    os.mkdir(share / folder)
    for name in names:
        (share / folder / name).write_bytes(b"x")
    return folder


file_names = st.lists(st.text(alphabet="abcdefgXYZ0123456789-_.", min_size=1, max_size=40)
                      .filter(lambda n: n.strip(".") != ""), max_size=60, unique_by=str.upper)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=file_names, length=st.integers(min_value=200, max_value=3000), single=st.booleans(),
       info_class=st.sampled_from(sorted(NAME_AT)))
def test_listing_in_pieces_gives_every_name_once(tree, share, names, length, single, info_class):
    handle = open_dir(tree, make_folder(share, names))
    listed = list_all(handle, length, SINGLE if single else 0, info_class)
    assert listed == [".", "..", *sorted(names, key=lambda n: (n.upper(), n))]


def test_a_file_deleted_during_the_listing_is_not_listed_and_none_twice(tree, share):
    names = [f"f{i:03d}" for i in range(100)]
    folder = make_folder(share, names)
    handle = open_dir(tree, folder)
    status, first = query(handle, flags=SINGLE, length=0x100)
    assert status == 0 and [name_of(e) for e in first] == ["."]
    for name in names[50:]:
        os.unlink(share / folder / name)
    (share / folder / "f000-new").write_bytes(b"")  # after the snapshot: not in this pass
    assert list_all(handle) == ["..", *names[:50]]
    # A restart takes the folder as it is now.
    status, entries = query(handle, flags=RESTART, length=65536)
    assert [name_of(e) for e in entries] == [".", "..", "f000", "f000-new", *names[1:50]]


def test_listing_times_are_those_of_create_and_query_info(tree):
    folder = open_dir(tree, "times")
    created = {}
    for i in range(20):
        fh = open_file(tree, f"times\\f{i}", disposition=CreateDisposition.FILE_CREATE)
        created[f"f{i}"] = fh.creation_time
        fh.close()
    # FileBothDirectoryInformation: CreationTime at 8, LastAccess, LastWrite, Change.
    entries = {name_of(e): e for e in query(folder, length=65536)[1]}
    for name, when in created.items():
        listed = struct.unpack_from("<Q", entries[name], 8)[0]
        assert _microseconds(listed) == _microseconds(when)  # smbprotocol keeps microseconds
        fh = open_file(tree, f"times\\{name}")
        status, basic = query_info(fh, INFO_FILE, FILE_BASIC)
        assert status == 0
        assert basic[:32] == entries[name][8:40]  # the four times, byte for byte


def _microseconds(when) -> int:
    """Microseconds since 1970 of a FILETIME or of smbprotocol's datetime."""
    if isinstance(when, int):
        return (when - 116444736000000000) // 10
    delta = when - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def test_file_id_and_short_name_agree_with_query_info(tree):
    open_dir(tree, "ids")
    fh = open_file(tree, "ids\\torture_search.txt")
    folder = open_dir(tree, "ids")
    (entry,) = query(folder, "torture_search.txt", info_class=ID_BOTH)[1]
    internal = query_info(fh, INFO_FILE, FILE_INTERNAL)[1]
    assert entry[96:104] == internal[:8]
    alt = query_info(fh, INFO_FILE, FILE_ALTERNATE_NAME)[1]
    short_len = entry[68]
    assert entry[70: 70 + short_len] == alt[4:]


def test_first_search_without_a_match_is_no_such_file_then_no_more_files(tree, share):
    handle = open_dir(tree, make_folder(share, ["a.txt", "b.txt"]))
    assert query(handle, "*.doc")[0] == STATUS_NO_SUCH_FILE
    assert query(handle, "*.doc", flags=RESTART)[0] == STATUS_NO_MORE_FILES
    # The pattern is the open's first until REOPEN (as Samba): then a new one applies.
    status, entries = query(handle, "a*", flags=REOPEN)
    assert status == 0 and [name_of(e) for e in entries] == ["a.txt"]
    assert query(handle, "a*")[0] == STATUS_NO_MORE_FILES


def test_a_buffer_too_small_for_one_entry_is_info_length_mismatch_and_loses_nothing(tree, share):
    long_name = "n" * 100
    handle = open_dir(tree, make_folder(share, [long_name]))
    assert [name_of(e) for e in query(handle, length=300)[1]] == [".", ".."]
    assert query(handle, length=200)[0] == STATUS_INFO_LENGTH_MISMATCH
    assert [name_of(e) for e in query(handle, length=400)[1]] == [long_name]


def test_index_specified_resumes_after_that_entry(tree, share):
    names = [f"f{i}" for i in range(10)]
    handle = open_dir(tree, make_folder(share, names))
    entries = query(handle, length=65536, info_class=FULL)[1]
    index_of_f3 = struct.unpack_from("<I", entries[5], 4)[0]  # ".", "..", f0, f1, f2, f3
    assert name_of(entries[5], FULL) == "f3" and index_of_f3 != 0
    status, rest = query(handle, flags=INDEX, index=index_of_f3, length=65536, info_class=FULL)
    assert status == 0
    assert [name_of(e, FULL) for e in rest] == names[4:]


def test_listing_needs_list_directory_access(tree, share):
    handle = open_dir(tree, make_folder(share, ["a"]), access=0x00100080)  # SYNCHRONIZE|READ_ATTRIBUTES
    assert query(handle)[0] == STATUS_ACCESS_DENIED


def test_patterns_reach_the_wire(tree, share):
    handle = open_dir(tree, make_folder(share, ["Report.TXT", "readme", "x.txt.bak"]))
    status, entries = query(handle, "<.txt", length=65536)
    assert status == 0 and [name_of(e) for e in entries] == ["Report.TXT"]


@pytest.mark.parametrize("pattern, name, expected", [
    ("*", "anything.at.all", True),
    ("a?c", "ABC", True),
    ("a?c", "ac", False),
    ("*.txt", "notes.TXT", True),
    ("*.txt", "notes.txt.bak", False),
    ("readme", "README", True),
    ("readme", "readme.txt", False),
    # DOS_STAR: up to (and possibly onto) the last dot, never past it.
    ("<.txt", "a.b.txt", True),
    ("<", "a.b.txt", False),
    ("<", "noext", True),
    ("<.", "file.", True),
    # DOS_QM: one character, or nothing before a dot or at the end.
    ("abc>>>", "abc", True),
    ("abc>>>", "abcde", True),
    ("abc>>>", "abcdefg", False),
    ("a>.txt", "a.txt", True),
    ("a>.txt", "ab.txt", True),
    ("a>.txt", "abc.txt", False),
    # DOS_DOT: a dot, or nothing at the end.
    ('name"*', "name.ext", True),
    ('name"', "name", True),
    ('name"', "namex", False),
    ('<"*', "x.y", True),
])
def test_wildcards_match_as_samba_does(pattern, name, expected):
    assert matches(pattern, name) is expected


def test_a_lone_request_cannot_name_the_last_create_as_related(tree, share):
    """All-0xFF names the open of an earlier CREATE in the same compound only (MS-SMB2
    3.3.5.2.7.2); alone it names no open."""
    open_dir(tree, make_folder(share, ["a"]))

    class Related:
        file_id = b"\xff" * 16
        tree_connect = tree

    assert query(Related())[0] == 0xC0000128  # STATUS_FILE_CLOSED


KNOWN_STATUSES = {0, STATUS_NO_MORE_FILES, STATUS_NO_SUCH_FILE, STATUS_INFO_LENGTH_MISMATCH,
                  0xC000000D,  # INVALID_PARAMETER
                  0xC0000003,  # INVALID_INFO_CLASS
                  0xC0000033}  # OBJECT_NAME_INVALID


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=st.lists(st.tuples(
    st.text(alphabet='ab*?<>".\\x', max_size=6), st.integers(0, 0x1F),
    st.one_of(st.sampled_from(sorted(NAME_AT)), st.integers(0, 40)),
    st.integers(0, 0x1_0000_0000 - 1), st.one_of(st.integers(0, 400), st.integers(0, 70000))),
    min_size=1, max_size=8))
@example(requests=[("*", SINGLE, cls, 0, 4096) for cls in sorted(NAME_AT)])
def test_any_search_is_answered_and_the_connection_lives_on(tree, share, requests):
    handle = open_dir(tree, make_folder(share, ["a.txt", "b", "ab.x"]))
    for pattern, flags, info_class, index, length in requests:
        status, _ = query(handle, pattern, flags, length, info_class, index)
        assert status in KNOWN_STATUSES
    assert query(handle, "*", REOPEN, 65536)[0] == 0  # REOPEN: a new pattern applies
