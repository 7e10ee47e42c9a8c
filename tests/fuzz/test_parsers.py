"""Fuzzing every parser of untrusted input: parse, or raise the project's own error.

The invariant (as h11 puts it): each parser either returns its result or raises its own error
class (``IntegrityError`` for backup data, ``CertificateError`` for certificates and PFX files,
``BadInput`` for settings and UNC paths, ``ScenarioError`` for scenario files), never another
exception, never a hang, and a refused restore leaves nothing behind.

Each test is bounded to a few dozen examples so the whole file runs in well under a minute.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import itertools
import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ibs.engine import certs, keys
from ibs.engine.backup_reader import BackupReader, verify_role
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.chunks import HEADER
from ibs.engine.clock import ManualClock
from ibs.engine.controller import Controller
from ibs.engine.entries import (
    END,
    NEED_DATA,
    STREAM_MAGIC,
    Entry,
    EntryDecoder,
    FileData,
    FileEnd,
    Kind,
    StreamEnd,
    Symlink,
    pack_entry,
)
from ibs.engine.errors import BadInput, CertificateError, IntegrityError
from ibs.engine.manifest import (
    ROLE_NAME,
    Manifest,
    ParsedManifest,
    RoleRecord,
    file_form,
    mac,
    parse,
)
from ibs.engine.restore import restore_roles
from ibs.engine.settings import Settings
from ibs.engine.share import LocalShare
from ibs.engine.share.unc import UncPath, parse_unc
from ibs.engine.source import DirectorySource
from ibs.engine.store import Store
from ibs.scenarios.loader import ACTIONS, ScenarioError, loads
from ibs.scenarios.model import Scenario

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
CHUNK = 4096
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library"

FAST = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

pytestmark = pytest.mark.timeout(120)


# =============================================================================================
# Entry streams (engine/entries.py)
# =============================================================================================


def encode(items: list[tuple[Entry, bytes]]) -> bytes:
    """An entry stream the way the writer makes one: magic, entries with their bytes, end."""
    out = bytearray(STREAM_MAGIC)
    for entry, content in items:
        out += pack_entry(entry)
        if entry.kind is not Kind.DIR:
            out += content
    out += END.pack(Kind.END, len(items))
    return bytes(out)


_NAME = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF,
                              blacklist_characters="/"), min_size=1, max_size=8).filter(
    lambda s: s not in (".", ".."))


@st.composite
def entry_trees(draw) -> list[tuple[Entry, bytes]]:
    """A valid role: the root folder, then folders, files and symlinks under known folders."""
    items: list[tuple[Entry, bytes]] = [(Entry(Kind.DIR, b"", 0o755, 1, 0), b"")]
    dirs, seen = [b""], {b""}
    for _ in range(draw(st.integers(0, 8))):
        parent = draw(st.sampled_from(dirs))
        name = draw(_NAME).encode("utf-8")
        path = parent + b"/" + name if parent else name
        if path in seen:
            continue
        seen.add(path)
        kind = draw(st.sampled_from([Kind.DIR, Kind.FILE, Kind.SYMLINK]))
        mode = draw(st.integers(0, 0o7777))
        mtime = draw(st.integers(-(2**63), 2**63 - 1))
        if kind is Kind.DIR:
            dirs.append(path)
            items.append((Entry(kind, path, mode, mtime, 0), b""))
        elif kind is Kind.FILE:
            content = draw(st.binary(max_size=300))
            items.append((Entry(kind, path, mode, mtime, len(content)), content))
        else:
            target = draw(st.binary(min_size=1, max_size=40).filter(lambda t: b"\x00" not in t))
            items.append((Entry(kind, path, mode, mtime, len(target)), target))
    # The stream's order (docs/FORMAT.md): depth-first pre-order, names sorted bytewise.
    return sorted(items, key=lambda item: item[0].path.split(b"/"))


def decode(pieces: list[bytes]) -> list[tuple]:
    """Feed ``pieces`` one by one, pulling events after each; then ``close``. Events are
    normalised (file data joined) so streams cut differently compare equal. Bounded: a decoder
    that keeps returning events without consuming input fails instead of hanging."""
    dec = EntryDecoder()
    events: list[tuple] = []
    budget = 4 * sum(len(p) for p in pieces) + 4 * len(pieces) + 16
    current: bytearray | None = None
    for piece in pieces:
        dec.feed(piece)
        while True:
            budget -= 1
            assert budget > 0, "EntryDecoder keeps returning events: a hang"
            ev = dec.next_event()
            if ev is NEED_DATA:
                break
            if isinstance(ev, Entry):
                events.append(("entry", ev))
                if ev.kind is Kind.FILE:
                    current = bytearray()
            elif isinstance(ev, FileData):
                assert current is not None, "file data outside a file"
                current += bytes(ev.data)
            elif isinstance(ev, FileEnd):
                assert current is not None, "file end outside a file"
                events.append(("data", bytes(current)))
                current = None
            elif isinstance(ev, Symlink):
                events.append(("symlink", ev.entry, ev.target))
            elif isinstance(ev, StreamEnd):
                events.append(("end", ev.entries))
            else:
                pytest.fail(f"unknown event {ev!r}")
    dec.close()
    return events


def expected_events(items: list[tuple[Entry, bytes]]) -> list[tuple]:
    out: list[tuple] = []
    for entry, content in items:
        if entry.kind is Kind.SYMLINK:
            out.append(("symlink", entry, content))
        else:
            out.append(("entry", entry))
            if entry.kind is Kind.FILE:
                out.append(("data", content))
    return out + [("end", len(items))]


@st.composite
def cuts(draw, data: bytes) -> list[bytes]:
    """``data`` whole, one byte at a time, or cut at random points (empty pieces included)."""
    how = draw(st.sampled_from(["whole", "bytes", "random"]))
    if how == "whole":
        return [data]
    if how == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    points = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@FAST
@given(items=entry_trees(), data=st.data())
def test_valid_streams_decode_identically_however_cut(items, data) -> None:
    stream = encode(items)
    want = expected_events(items)
    assert decode([stream]) == want
    assert decode([stream[i : i + 1] for i in range(len(stream))]) == want
    assert decode(data.draw(cuts(stream))) == want


@FAST
@given(items=entry_trees(), trailing=st.binary(min_size=1, max_size=40), data=st.data())
def test_bytes_after_the_end_record_are_refused(items, trailing, data) -> None:
    stream = encode(items) + trailing
    with pytest.raises(IntegrityError):
        decode(data.draw(cuts(stream)))


@FAST
@given(items=entry_trees(), data=st.data())
def test_a_truncated_stream_is_refused(items, data) -> None:
    stream = encode(items)
    cut = data.draw(st.integers(0, len(stream) - 1))
    with pytest.raises(IntegrityError):
        decode(data.draw(cuts(stream[:cut])))


def reencode(events: list[tuple]) -> bytes:
    """The stream that says exactly what ``events`` say, in the format's one spelling."""
    out = bytearray(STREAM_MAGIC)
    for event in events:
        if event[0] == "entry":
            out += pack_entry(event[1])
        elif event[0] == "data":
            out += event[1]
        elif event[0] == "symlink":
            out += pack_entry(event[1]) + event[2]
        else:
            out += END.pack(Kind.END, event[1])
    return bytes(out)


def _decodes_or_integrity_error(pieces: list[bytes]) -> None:
    """Refused with IntegrityError, or accepted as exactly what it says: an accepted stream is
    the one spelling of its events, so no byte of it went unread or was read two ways."""
    try:
        events = decode(pieces)
    except IntegrityError:
        return
    assert reencode(events) == b"".join(pieces)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=200), data=st.data())
def test_arbitrary_bytes_decode_or_raise_integrity_error(raw, data) -> None:
    prefix = data.draw(st.sampled_from([b"", STREAM_MAGIC,
                                        STREAM_MAGIC + pack_entry(Entry(Kind.DIR, b"", 0o755, 0, 0))]))
    _decodes_or_integrity_error(data.draw(cuts(prefix + raw)))


@FAST
@given(items=entry_trees(), data=st.data())
def test_mutated_valid_streams_decode_or_raise_integrity_error(items, data) -> None:
    stream = bytearray(encode(items))
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
        pos = data.draw(st.integers(0, len(stream)))
        if op == "flip" and pos < len(stream):
            stream[pos] ^= data.draw(st.integers(1, 255))
        elif op == "insert":
            stream[pos:pos] = data.draw(st.binary(min_size=1, max_size=20))
        elif op == "delete":
            del stream[pos : pos + data.draw(st.integers(1, 20))]
        else:
            n = data.draw(st.integers(1, 30))
            stream[pos:pos] = stream[pos : pos + n]
    _decodes_or_integrity_error(data.draw(cuts(bytes(stream))))


# =============================================================================================
# Manifests (engine/manifest.py)
# =============================================================================================

MAC_KEY = b"k" * 32


def valid_manifest(roles: int = 2, chunk_size: int = CHUNK) -> Manifest:
    recs = tuple(RoleRecord(name=n, file=f"roles/{n}.ibsr", plaintextBytes=100 + i,
                            storedBytes=200 + i, chunks=1 + i, sha256="ab" * 32, entries=3,
                            fileBytes=50) for i, n in enumerate(["CA", "WAS", "ECE"][:roles]))
    return Manifest(backupId=uuid.UUID(int=7), createdDateTime=T0,
                    encryptionCertThumbprint="A" * 40, wrappedKey=b"\x01" * 256,
                    chunkSize=chunk_size, roles=recs, info={"stampVersion": "1.2"})


_JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from([2**63, -(2**63) - 1, 10**40, -1, 0]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
    st.sampled_from(["", "ünïcødé ✓", "\x00", "\ud7ff", "A" * 40, "roles/CA.ibsr", "CA",
                     "2026-03-01T08:00:00.000000Z", str(uuid.UUID(int=7)), "AES-256-GCM"]))
_JSON = st.recursive(_JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


def _paths(node, prefix=()):
    """Every (container path) in a JSON value, for picking where to mutate."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _get(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated_bodies(draw) -> tuple[dict, bool]:
    """A valid manifest body with 1-3 JSON-aware mutations; and whether to re-MAC it (if not, it
    keeps the MAC of the body before the mutations)."""
    body = json.loads(valid_manifest(draw(st.integers(0, 3))).to_bytes(MAC_KEY))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(body))
        path = draw(st.sampled_from(paths))
        parent_path, node = path[:-1], _get(body, path)
        op = draw(st.sampled_from(["drop", "dup", "retype", "huge", "nest", "add"]))
        if not path:
            continue
        parent = _get(body, parent_path)
        key = path[-1]
        if op == "drop":
            del parent[key]
        elif op == "dup" and isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(node)))
        elif op == "dup" and isinstance(parent, dict):
            parent[key + "_"] = json.loads(json.dumps(node))
        elif op == "retype":
            parent[key] = draw(_JSON)
        elif op == "huge":
            parent[key] = draw(st.sampled_from([10**30, -(10**30), 2**64, 1e308, -0.0]))
        elif op == "nest":
            parent[key] = [[[node]]] if draw(st.booleans()) else {"x": {"y": node}}
        elif op == "add" and isinstance(node, dict):
            node[draw(st.text(max_size=10))] = draw(_JSON)
    remac = draw(st.booleans())
    if remac:
        body.pop("mac", None)
    return body, remac


def _parse_ok(data: bytes, expected_id: uuid.UUID | None = None) -> Manifest | None:
    """Refused with IntegrityError (None), or accepted as exactly what it says: an authentic
    manifest is the one spelling of a manifest the reader can use (returned)."""
    try:
        parsed = parse(data, expected_id)
    except IntegrityError:
        return None
    assert isinstance(parsed, ParsedManifest)
    try:
        got = parsed.verify(MAC_KEY)
    except IntegrityError:
        return None
    assert isinstance(got, Manifest)
    assert expected_id in (None, got.backupId)
    assert 4096 <= got.chunkSize <= 16 * 1024 * 1024
    assert all(ROLE_NAME.match(r.name) and r.file == f"roles/{r.name}.ibsr" for r in got.roles)
    assert len({r.name for r in got.roles}) == len(got.roles)
    # No member ignored or read two ways: writing what was read gives the very bytes.
    assert got.to_bytes(MAC_KEY) == data
    return got


def test_a_valid_manifest_round_trips() -> None:
    m = valid_manifest()
    assert parse(m.to_bytes(MAC_KEY), m.backupId).verify(MAC_KEY) == m


_ROLE = valid_manifest().roles[0]
_ALTERED = {
    "backupId": {"backupId": uuid.UUID(int=8)},
    "createdDateTime": {"createdDateTime": T0 + dt.timedelta(microseconds=1)},
    "thumbprint": {"encryptionCertThumbprint": "B" * 40},
    "wrappedKey": {"wrappedKey": b"\x02" + b"\x01" * 255},
    "chunkSize": {"chunkSize": 2 * CHUNK},
    "info": {"info": {"stampVersion": "1.3"}},
    "role dropped": {"roles": valid_manifest().roles[1:]},
    "role sha256": {"roles": (dataclasses.replace(_ROLE, sha256="cd" * 32),
                              *valid_manifest().roles[1:])},
    "role fileBytes": {"roles": (dataclasses.replace(_ROLE, fileBytes=_ROLE.fileBytes + 1),
                                 *valid_manifest().roles[1:])},
}


@pytest.mark.parametrize("change", sorted(_ALTERED))
def test_a_manifest_altered_in_any_member_fails_its_mac(change) -> None:
    """Deterministic, unlike the fuzz test below: a manifest MAC left unchecked fails here
    every run (issue 15: the fuzzer caught it in 5 runs of 7)."""
    original = json.loads(valid_manifest().to_bytes(MAC_KEY))
    altered = json.loads(dataclasses.replace(valid_manifest(), **_ALTERED[change]).to_bytes(MAC_KEY))
    altered["mac"] = original["mac"]
    parsed = parse(file_form(altered))  # well-formed: only the MAC can refuse it
    with pytest.raises(IntegrityError, match="does not authenticate"):
        parsed.verify(MAC_KEY)
    with pytest.raises(IntegrityError, match="does not authenticate"):
        parse(valid_manifest().to_bytes(MAC_KEY)).verify(b"K" * 32)  # another backup's key


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(mutated=mutated_bodies())
def test_json_mutated_manifests_parse_or_raise_integrity_error(mutated) -> None:
    body, remac = mutated
    if remac:
        try:
            body = dict(body, mac=mac(MAC_KEY, body))
        except (TypeError, ValueError):  # not JSON-serialisable canonically (e.g. nested NaN)
            return
    data = file_form(body)
    got = _parse_ok(data)
    ours = got is not None and got.backupId == uuid.UUID(int=7)
    assert _parse_ok(data, uuid.UUID(int=7)) == (got if ours else None)
    if not remac and got is not None:
        # The MAC is the unmutated body's: only a mutation that changed nothing may pass.
        assert data == valid_manifest(len(got.roles)).to_bytes(MAC_KEY)


@FAST
@given(raw=st.binary(max_size=300), data=st.data())
def test_arbitrary_bytes_as_a_manifest(raw, data) -> None:
    base = valid_manifest().to_bytes(MAC_KEY)
    how = data.draw(st.sampled_from(["raw", "splice", "text"]))
    if how == "splice":
        pos = data.draw(st.integers(0, len(base)))
        raw = base[:pos] + raw + base[pos + data.draw(st.integers(0, 40)):]
    elif how == "text":
        raw = data.draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    _parse_ok(raw)


@pytest.mark.parametrize("text", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"1" * 100_000,
    b'"' + b"\\u0000" * 1000 + b'"',
    b"\xff\xfe{}",
    b"",
    b"NaN",
    b'{"formatVersion": Infinity}',
])
def test_pathological_manifests(text: bytes) -> None:
    with pytest.raises(IntegrityError):
        parse(text)


# =============================================================================================
# A real backup, mutated on the share (engine/backup_reader.py, engine/restore.py)
# =============================================================================================


@pytest.fixture(scope="module")
def pair() -> tuple[bytes, bytes, str]:
    cer, pfx = certs.new_certificate("IBS fuzz", "fuzz-pw", now=T0)
    return cer, pfx, "fuzz-pw"


@pytest.fixture(scope="module")
def backup(tmp_path_factory, pair):
    """One backup of two roles with folders, an empty file, a symlink and multi-chunk files."""
    root = tmp_path_factory.mktemp("parsers-backup")
    ca = root / "src" / "CA"
    (ca / "sub" / "deeper").mkdir(parents=True)
    (ca / "a.bin").write_bytes(os.urandom(3 * CHUNK + 17))
    (ca / "sub" / "text").write_bytes(b"compressible " * 900)
    (ca / "sub" / "deeper" / "empty").write_bytes(b"")
    os.symlink("a.bin", ca / "link")
    was = root / "src" / "WAS"
    was.mkdir(parents=True)
    (was / "x").write_bytes(os.urandom(CHUNK + 1))
    share = root / "share"
    share.mkdir()
    backup_id = uuid.uuid4()
    writer = BackupWriter(LocalShare(share), certs.load_certificate(pair[0]), backup_id, T0,
                          {"CA": DirectorySource(str(ca)), "WAS": DirectorySource(str(was))},
                          chunk_size=CHUNK, threads=False)
    list(writer.steps())
    key = certs.load_pfx(pair[1], pair[2])
    # The pristine backup restores (so refusals below are the mutation's doing).
    target = root / "pristine-target"
    reader = BackupReader(LocalShare(share), backup_id)
    reader.unlock(key)
    restore_roles(reader, ["CA", "WAS"], str(target), threads=False)
    assert (target / "CA" / "a.bin").read_bytes() == (ca / "a.bin").read_bytes()
    return share, backup_id, key


def _backup_files(share: Path, backup_id) -> list[Path]:
    folder = share / "MASBackup" / str(backup_id)
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _records(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + HEADER.size <= len(data):
        length = HEADER.unpack_from(data, pos)[0]
        out.append(data[pos : pos + HEADER.size + length])
        pos += HEADER.size + length
    return out


def _assert_refused(share: Path, backup_id, key, target: Path, restore: bool = True) -> None:
    """Verify and restore both raise IntegrityError or CertificateError; the target gets no
    role folder (nor a staging folder). ``restore=False``: verify only."""
    refused = (IntegrityError, CertificateError)
    with pytest.raises(refused):
        reader = BackupReader(LocalShare(share), backup_id)
        reader.unlock(key)
        for role in reader.manifest.roles:
            verify_role(reader, role.name)
    if not restore:
        return
    target.mkdir(exist_ok=True)
    for threads in (False, True):
        with pytest.raises(refused):
            reader = BackupReader(LocalShare(share), backup_id)
            reader.unlock(key)
            restore_roles(reader, [r.name for r in reader.manifest.roles], str(target),
                          threads=threads)
        assert sorted(os.listdir(target)) == []


MUTATIONS = ["insert", "delete", "replace", "append", "truncate", "swap", "dup_record",
             "drop_record", "move_record"]


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_mutation_of_a_backup_is_refused(backup, tmp_path_factory, data) -> None:
    pristine, backup_id, key = backup
    tmp = tmp_path_factory.mktemp("mut")
    share = tmp / "share"
    shutil.copytree(pristine, share, symlinks=True)
    files = _backup_files(share, backup_id)
    victim = data.draw(st.sampled_from(files), label="file")
    raw = victim.read_bytes()
    op = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    pos = data.draw(st.integers(0, len(raw)), label="pos")
    blob = data.draw(st.binary(min_size=1, max_size=64), label="bytes")
    if op == "insert":
        new = raw[:pos] + blob + raw[pos:]
    elif op == "delete":
        new = raw[:pos] + raw[pos + data.draw(st.integers(1, 64)):]
    elif op == "replace":
        new = raw[:pos] + blob + raw[pos + len(blob):]
    elif op == "append":
        new = raw + blob
    elif op == "truncate":
        new = raw[: min(pos, len(raw) - 1)]
    elif op == "swap":
        other = data.draw(st.sampled_from([f for f in files if f != victim]))
        new = other.read_bytes()
        other.write_bytes(raw)
    else:
        records = _records(raw) if victim.suffix == ".ibsr" else []
        assume(len(records) >= 2)
        i = data.draw(st.integers(0, len(records) - 1))
        if op == "dup_record":
            records.insert(data.draw(st.integers(0, len(records))), records[i])
        elif op == "drop_record":
            del records[i]
        else:
            j = data.draw(st.integers(0, len(records) - 1))
            records.insert(j, records.pop(i))
        new = b"".join(records)
    assume(new != raw)
    victim.write_bytes(new)
    _assert_refused(share, backup_id, key, tmp / "target")


def _manifest_path(share: Path, backup_id) -> Path:
    return share / "MASBackup" / str(backup_id) / "manifest.json"


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(["chunkSize", "plaintextBytes", "storedBytes", "chunks", "entries",
                              "fileBytes", "sha256", "roles-dup", "roles-drop"]),
       value=st.integers(-5, 20 * 1024 * 1024), remac=st.booleans())
def test_altered_manifest_figures_are_refused(backup, tmp_path_factory, field, value,
                                              remac) -> None:
    """chunkSize and the roles' figures changed in the manifest, in canonical form; with
    ``remac`` the MAC is recomputed with the backup's own key, as a buggy writer would, so the
    data files themselves must disagree."""
    pristine, backup_id, key = backup
    tmp = tmp_path_factory.mktemp("manifest")
    share = tmp / "share"
    shutil.copytree(pristine, share, symlinks=True)
    path = _manifest_path(share, backup_id)
    body = json.loads(path.read_bytes())
    body.pop("mac")
    role = body["roles"][0]
    if field == "chunkSize":
        assume(value != body["chunkSize"])
        body["chunkSize"] = value
    elif field == "sha256":
        role["sha256"] = format(abs(value), "064x")
        assume(role["sha256"] != json.loads(path.read_bytes())["roles"][0]["sha256"])
    elif field == "roles-dup":
        body["roles"].append(dict(role))
    elif field == "roles-drop":
        # Dropping a role with a valid MAC is a smaller backup, not a tampered one: skip.
        assume(not remac)
        body["roles"].pop()
    else:
        assume(value != role[field])
        role[field] = value
    if remac:
        reader = BackupReader(LocalShare(pristine), backup_id)
        data_key = keys.unwrap(key, reader.manifest.wrappedKey, backup_id)
        body["mac"] = mac(keys.derive(data_key, backup_id, "manifest"), body)
    else:
        body["mac"] = json.loads(path.read_bytes())["mac"]
    path.write_bytes(file_form(body))
    # A restore leaves the keyless sha256 to verify when the MAC holds: the tags it opens cover
    # every byte that hash does (docs/FORMAT.md; tests/engine/test_independent_reader_differential).
    _assert_refused(share, backup_id, key, tmp / "target", restore=not (remac and field == "sha256"))


@pytest.mark.parametrize("field", ["entries", "fileBytes"])
def test_restore_checks_the_manifest_counts_like_verify(backup, tmp_path, field) -> None:
    pristine, backup_id, key = backup
    share = tmp_path / "share"
    shutil.copytree(pristine, share, symlinks=True)
    path = _manifest_path(share, backup_id)
    body = json.loads(path.read_bytes())
    body.pop("mac")
    body["roles"][0][field] += 1
    data_key = keys.unwrap(key, BackupReader(LocalShare(pristine), backup_id).manifest.wrappedKey,
                           backup_id)
    body["mac"] = mac(keys.derive(data_key, backup_id, "manifest"), body)
    path.write_bytes(file_form(body))
    _assert_refused(share, backup_id, key, tmp_path / "target")


# =============================================================================================
# Scenario files (scenarios/loader.py)
# =============================================================================================

LIBRARY_FILES = sorted(LIBRARY.glob("*.toml"))
_VALUES = ['"text"', "12", "-1", "0", "1.5", "1e400", "nan", "true", "[1, \"a\"]", "{ a = 1 }",
           "1979-05-27", "07:32:00", '""', '"ünïcødé ✓"', "[]", '"12h"', '"-3d"', "99999999999999999999"]
_KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_.-]+)(\s*=\s*)(.*)$")


@st.composite
def mutated_scenarios(draw) -> tuple[str, str]:
    path = draw(st.sampled_from(LIBRARY_FILES))
    lines = path.read_text(encoding="utf-8").split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "retype", "rekey", "swap"]))
        m = _KEY_LINE.match(lines[i])
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "retype" and m:
            value = draw(st.one_of(st.sampled_from(_VALUES), st.integers().map(str)))
            lines[i] = m.group(1) + m.group(2) + m.group(3) + value
        elif op == "rekey" and m:
            key = draw(st.one_of(st.sampled_from(["name", "hub", "days", "at", "do", "seed",
                                                  "backup", "role", "x", "Name", "at_"]),
                                 st.from_regex(r"[a-z_]{1,10}", fullmatch=True)))
            lines[i] = m.group(1) + key + m.group(3) + m.group(4)
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        if not lines:
            lines = [""]
    return str(path), "\n".join(lines)


def test_the_library_loads() -> None:
    assert LIBRARY_FILES
    for path in LIBRARY_FILES:
        assert isinstance(loads(path.read_text(encoding="utf-8"), str(path)), Scenario)


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(mutated=mutated_scenarios())
def test_mutated_library_files_load_or_name_file_and_line(mutated) -> None:
    path, text = mutated
    try:
        got = loads(text, path)
    except ScenarioError as exc:
        message = str(exc)
        assert re.match(re.escape(path) + r":\d+: ", message), message
        line = int(message[len(path) + 1 :].split(":", 1)[0])
        assert 1 <= line <= text.count("\n") + 1, message
        assert "\n" not in message.split(": not valid TOML")[0]
        return
    # Accepted: it must be a scenario docs/SCENARIOS.md allows, or the run fails later, far
    # from the line that caused it.
    assert isinstance(got, Scenario)
    assert got.hub == "asdk" or 4 <= int(got.hub) <= 16
    assert got.fidelity in ("sim", "wire") and got.identity in ("ADFS", "AzureAD")
    assert 0 < got.days <= 3650
    assert [e.at_seconds for e in got.events] == sorted(e.at_seconds for e in got.events)
    for event in got.events:
        assert 0 <= event.at_seconds < got.days * 86400, event
        assert set(event.params) == set(ACTIONS[event.action]), event
        assert 1 <= event.line <= text.count("\n") + 1, event


# =============================================================================================
# Certificates and PFX files (engine/certs.py)
# =============================================================================================


@pytest.fixture(scope="module")
def cert_files(pair) -> dict[str, bytes]:
    der = pair[0]
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    _cer, open_pfx = certs.new_certificate("IBS fuzz open", None, now=T0)
    return {"der": der, "pem": pem, "pfx": pair[1], "open_pfx": open_pfx}


@st.composite
def mutated(draw, data: bytes) -> bytes:
    raw = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "append"]))
        pos = draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[pos] ^= draw(st.integers(1, 255))
        elif op == "insert":
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del raw[pos : pos + draw(st.integers(1, 16))]
        elif op == "truncate":
            del raw[pos:]
        else:
            raw += draw(st.binary(min_size=1, max_size=16))
    return bytes(raw)


def _load_cert_ok(data: bytes, der: bytes | None = None) -> certs.Certificate | None:
    """Refused in one line (None), or accepted as the certificate whose DER is ``der`` (when
    known): no byte of it ignored, none read two ways."""
    try:
        got = certs.load_certificate(data)
    except CertificateError as exc:
        assert "\n" not in str(exc)
        return None
    assert got.public_key.key_size == certs.KEY_BITS
    if der is not None:
        assert got.der == der and got.thumbprint == certs.thumbprint(der)
    return got


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), form=st.sampled_from(["der", "pem", "pem-body"]))
def test_mutated_certificates_load_or_raise_certificate_error(cert_files, data, form) -> None:
    if form == "pem-body":
        # Mutate the DER inside a well-formed PEM armour.
        der: bytes | None = data.draw(mutated(cert_files["der"]))
        raw = (b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der)
               + b"-----END CERTIFICATE-----\n")
    else:
        raw = data.draw(mutated(cert_files[form]))
        der = raw if form == "der" else None
    _load_cert_ok(raw, der)


@FAST
@given(raw=st.binary(max_size=200), pem=st.booleans())
def test_random_bytes_as_a_certificate(raw, pem) -> None:
    # 200 bytes cannot hold a 3072-bit key: always refused, in one line.
    assert _load_cert_ok(b"-----BEGIN CERTIFICATE-----\n" + raw if pem else raw) is None


# A certificate whose public key algorithm is unknown: DER-valid, but no key can be made of it.
def _with_oid(der: bytes, old: bytes, new: bytes) -> bytes:
    assert old in der
    return der.replace(old, new, 1)


RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption


@pytest.mark.parametrize("new", [bytes.fromhex("2a864886f70d010163"),  # 1.2.840.113549.1.1.99
                                 bytes.fromhex("2a864886f70d010102")])  # md2WithRSA as a key OID
def test_unknown_key_algorithm_raises_certificate_error(cert_files, new) -> None:
    raw = _with_oid(cert_files["der"], RSA_OID, new)
    _refused_in_one_line(raw)


# Found by test_mutated_certificates_...: one base64 character of a PEM changed ("ggEPADCC" ->
# "ggEPAECC"), i.e. the SEQUENCE tag 0x30 of the RSA key inside the SubjectPublicKeyInfo BIT
# STRING becomes 0x40. x509.load_*_x509_certificate parses lazily and accepts it; public_key()
# then raised ValueError("Could not deserialize key data ...") outside the try block (fixed).
SPKI_KEY = bytes.fromhex("038201 0f00 30 82010a".replace(" ", ""))


@pytest.mark.parametrize("form", ["der", "pem"])
def test_corrupt_public_key_raises_certificate_error(cert_files, form) -> None:
    der = _with_oid(cert_files["der"], SPKI_KEY, SPKI_KEY[:5] + b"\x40" + SPKI_KEY[6:])
    raw = der if form == "der" else x509_pem(der)
    _refused_in_one_line(raw)


# Found by test_mutated_certificates_...: a version field other than v1-v3 makes cryptography
# raise x509.InvalidVersion, which is not a ValueError, and the load was a traceback (fixed).
CERT_V3 = bytes.fromhex("a003020102")


@pytest.mark.parametrize("form", ["der", "pem"])
def test_an_unknown_certificate_version_raises_certificate_error(cert_files, form) -> None:
    der = _with_oid(cert_files["der"], CERT_V3, CERT_V3[:-1] + b"\x07")
    _refused_in_one_line(der if form == "der" else x509_pem(der))


def _refused_in_one_line(raw: bytes) -> None:
    with pytest.raises(CertificateError) as refused:
        certs.load_certificate(raw)
    assert "\n" not in str(refused.value)


def x509_pem(der: bytes) -> bytes:
    return b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n"


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_password_pfx_loads_or_raises_certificate_error(cert_files, pair, data) -> None:
    raw = data.draw(mutated(cert_files["pfx"]))
    password = data.draw(st.sampled_from([pair[2], None, "wrong", "ü" * 3]))
    _load_pfx_ok(raw, password, cert_files["pfx"], pair[2])


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_open_pfx_loads_or_raises_certificate_error(cert_files, data) -> None:
    """An unprotected PFX has no MAC to stop a mutation early: the parse goes deeper."""
    raw = data.draw(mutated(cert_files["open_pfx"]))
    _load_pfx_ok(raw, data.draw(st.sampled_from([None, "x"])), cert_files["open_pfx"], None)


def _load_pfx_ok(raw: bytes, password: str | None, original: bytes,
                 original_password: str | None) -> None:
    """Refused in one line, or accepted as the original's key pair: a mutated PFX may change
    what no one reads (a friendly name, the certificate's subject) but never the key."""
    try:
        got = certs.load_pfx(raw, password)
    except CertificateError as exc:
        assert "\n" not in str(exc)
        return
    want = certs.load_pfx(original, original_password).private_key.public_key().public_numbers()
    assert got.certificate.public_key.key_size == certs.KEY_BITS
    assert got.private_key.public_key().public_numbers() == want
    assert got.certificate.public_key.public_numbers() == want


@FAST
@given(raw=st.binary(max_size=300), password=st.one_of(st.none(), st.text(max_size=10)))
def test_random_bytes_as_a_pfx(raw, password) -> None:
    # 300 bytes cannot hold a 3072-bit key pair: always refused, in one line.
    with pytest.raises(CertificateError) as refused:
        certs.load_pfx(raw, password)
    assert "\n" not in str(refused.value)


# =============================================================================================
# UNC paths (engine/share/unc.py)
# =============================================================================================

_ANY_CHAR = st.characters(codec=None)  # every code point, surrogates and controls included
_UNC_PART = st.one_of(st.text(_ANY_CHAR, max_size=12),
                      st.sampled_from(["", ".", "..", " ", "a ", "a.", "x" * 81, "y" * 256,
                                       "ünï", "\u200b", "\x00", "\x7f", "a\tb", "C$", "IPC$",
                                       "１２７", "127.0.0.1", "300.1.1.1", "-x", "x-", "_x"]))


def _check_unc(text: str) -> None:
    try:
        got = parse_unc(text)
    except BadInput as exc:
        message = str(exc)
        assert message.startswith("malformed UNC path"), message
        return
    assert isinstance(got, UncPath)
    shown = str(got)
    assert not any(ord(c) < 32 or c == "\x7f" for c in shown), shown
    assert parse_unc(shown) == got


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(parts=st.lists(_UNC_PART, min_size=0, max_size=5),
       lead=st.sampled_from(["\\\\", "//", "\\", "\\\\\\", "\\/", ""]),
       sep=st.sampled_from(["\\", "/"]), tail=st.sampled_from(["", "\\", "/", "\\\\"]))
def test_structured_unc_paths(parts, lead, sep, tail) -> None:
    _check_unc(lead + sep.join(parts) + tail)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(_ANY_CHAR, max_size=60))
def test_unc_unicode_and_control_characters(text) -> None:
    _check_unc(text)
    _check_unc("\\\\host\\share\\" + text)


@pytest.mark.parametrize("text", [
    "\\\\" + "a" * 5000 + "\\share",
    "\\\\host\\" + "s" * 5000,
    "\\\\host\\share\\" + "\\".join(["f"] * 5000),
    "\\\\host\\share\\" + "d" * 100_000,
    "\\\\" + ".".join(["a"] * 200) + "\\share",
    "\\" * 10_000,
    "/" * 10_000,
    "\\\\host\\share\\a\udcff",
    "\\\\hoſt\\share",  # a non-ASCII letter that case-folds to ASCII
    "\\\\ho\u0301st\\share",
])
def test_very_long_and_odd_unc_paths(text) -> None:
    _check_unc(text)


# =============================================================================================
# Controller.configure (engine/controller.py, engine/settings.py)
# =============================================================================================

_SETTING = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.integers(-5, 70_000),
    st.floats(allow_nan=True), st.text(max_size=6), st.sampled_from(["12", "4.0", b"12", [], {}]))


@st.composite
def configure_args(draw, tmp: Path) -> dict:
    real = tmp / "real-dir"
    kw: dict = {}
    if draw(st.booleans()):
        kw["frequency_hours"] = draw(_SETTING)
    if draw(st.booleans()):
        kw["retention_days"] = draw(_SETTING)
    if draw(st.booleans()):
        kw["smb_port"] = draw(_SETTING)
    if draw(st.booleans()):
        kw["smb_timeout"] = draw(_SETTING)
    if draw(st.booleans()):
        kw["path"] = draw(st.one_of(
            st.text(_ANY_CHAR, max_size=30), st.just(str(real)),
            st.sampled_from(["\\\\host\\share\\f", "//h/s", "\\\\h", "relative", "/no/such/dir",
                             str(real) + "\x00", str(real) + "/../real-dir", "\\\\h\\s\\..", ""])))
    if draw(st.booleans()):
        kw["sources"] = draw(st.dictionaries(
            st.one_of(st.sampled_from(["CA", "WAS", "ECE"]), st.text(_ANY_CHAR, max_size=8)),
            st.one_of(st.just(str(real)), st.text(_ANY_CHAR, max_size=12),
                      st.just(str(real) + "\x00")), max_size=3))
    return kw


@pytest.fixture(scope="module")
def configured(tmp_path_factory, pair):
    """A configured store to copy per example (making a controller costs a certificate parse)."""
    root = tmp_path_factory.mktemp("configure")
    (root / "real-dir").mkdir()
    (root / "share").mkdir()
    ctl = Controller(Store(str(root / "store")), ManualClock(T0), chunk_size=CHUNK)
    ctl.configure(path=str(root / "share"), cert=pair[0], sources={"CA": str(root / "real-dir")},
                  frequency_hours=12, retention_days=7)
    return root


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_configure_succeeds_or_raises_bad_input_and_changes_nothing(configured, data) -> None:
    store_dir = configured / "store"
    work = configured / "work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(store_dir, work)
    try:
        ctl = Controller(Store(str(work)), ManualClock(T0), chunk_size=CHUNK)
        kw = data.draw(configure_args(configured), label="configure")
        settings_file = work / "settings.json"
        before = settings_file.read_bytes()
        listing = sorted(os.listdir(work))
        try:
            ctl.configure(**kw)
        except BadInput as exc:
            assert "\n" not in str(exc)
            assert settings_file.read_bytes() == before
            assert sorted(os.listdir(work)) == listing
            return
        s = Controller(Store(str(work)), ManualClock(T0)).settings
        assert isinstance(s, Settings)
        for name, attr in (("frequency_hours", "frequency_hours"),
                           ("retention_days", "retention_days"), ("smb_port", "smb_port"),
                           ("smb_timeout", "smb_timeout")):
            if kw.get(name) is not None:
                assert getattr(s, attr) == kw[name]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_configure_stores_only_valid_role_names(configured) -> None:
    """A role name is a path component on the share (roles/<name>.ibsr) and in the restore
    target: configure must refuse one the manifest would refuse (ROLE_NAME)."""
    work = configured / "work-roles"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(configured / "store", work)
    try:
        ctl = Controller(Store(str(work)), ManualClock(T0), chunk_size=CHUNK)
        for role in ("../escape", "a/b", "", ".", "ünï", "x" * 100):
            try:
                ctl.configure(sources={role: str(configured / "real-dir")})
            except BadInput:
                continue
            stored = Controller(Store(str(work)), ManualClock(T0)).settings.sources
            assert all(ROLE_NAME.match(r) for r in stored), stored
    finally:
        shutil.rmtree(work, ignore_errors=True)
