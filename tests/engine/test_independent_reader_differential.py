"""The engine and the reader written from docs/FORMAT.md accept exactly the same backups.

Mutations of the golden backup that an attacker could not make (re-MACed manifests, re-sealed
entry streams, with the TEST-ONLY key) reach every rule behind the cryptography. If the two
readers disagree on one, the document is ambiguous there, or one of them does not follow it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import struct
import uuid
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ibs.engine import certs, chunks
from ibs.engine import manifest as mf
from ibs.engine.backup_reader import BackupReader
from ibs.engine.entries import Entry, FileData, Symlink
from ibs.engine.errors import IntegrityError
from ibs.engine.share import LocalShare
from tests.engine import format_reader as fr
from tests.engine.golden.vectors import BACKUP_ID, PASSWORD, PFX, SHARE, VECTORS

ID = uuid.UUID(BACKUP_ID)
FOLDER = Path("MASBackup") / BACKUP_ID
MAC_KEY = bytes.fromhex(VECTORS["subkeysHex"]["manifest"])
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@functools.cache
def keys() -> tuple[certs.DecryptionKey, fr.Key]:
    return certs.load_pfx(PFX, PASSWORD), fr.load_pfx(PFX, PASSWORD)


def engine_view(share: Path) -> dict[str, list[tuple]] | None:
    """Each role's entries as the engine reads them, or None if it refuses the backup."""
    try:
        reader = BackupReader(LocalShare(share), ID)
        reader.unlock(keys()[0])
        out: dict[str, list[tuple]] = {}
        for role in reader.manifest.roles:
            items: list[tuple] = []
            for event in reader.events(role.name):
                if isinstance(event, Entry):
                    items.append([int(event.kind), event.path, event.mode, event.mtime_ns, b""])
                elif isinstance(event, Symlink):
                    e = event.entry
                    items.append([int(e.kind), e.path, e.mode, e.mtime_ns, event.target])
                elif isinstance(event, FileData):
                    items[-1][4] += bytes(event.data)
            out[role.name] = [tuple(i) for i in items]
        return out
    except IntegrityError:
        return None


def format_view(share: Path) -> dict[str, list[tuple]] | None:
    try:
        backup = fr.open_backup(share, BACKUP_ID, keys()[1])
        return {r["name"]: [(i.kind, i.path, i.mode, i.mtime_ns, i.data)
                            for i in fr.checked_items(backup, r["name"])]
                for r in backup.manifest["roles"]}
    except fr.FormatError:
        return None


def copy(tmp: Path) -> Path:
    share = tmp / "share"
    shutil.copytree(SHARE, share)
    return share


def write_manifest(share: Path, body: dict) -> None:
    body = {k: v for k, v in body.items() if k != "mac"}
    (share / FOLDER / "manifest.json").write_bytes(mf.file_form({**body, "mac": mf.mac(MAC_KEY, body)}))


def golden_body() -> dict:
    return json.loads((SHARE / FOLDER / "manifest.json").read_bytes())


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([4095, 4096, 4097, 2**63 - 1, 2**63]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6),
    st.sampled_from(["", "CA", "roles/CA.ibsr", "AES-256-GCM", "zstd", "RSA-OAEP-SHA256", "\ud800",
                     "2026-03-01T08:00:00.123456Z", "2026-02-30T08:00:00.000000Z",
                     "2026-03-01T08:00:00.123456+00:00", "2026-3-1T8:0:0.5Z", BACKUP_ID.upper(),
                     VECTORS["certificateThumbprint"].lower(), "A" * 40]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=2), st.dictionaries(st.text(max_size=4), inner, max_size=2)), max_leaves=4)


def _containers(node: object, path: tuple = ()):
    if isinstance(node, dict):
        yield path
        for k, v in node.items():
            yield from _containers(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _containers(v, (*path, i))


@SETTINGS
@given(data=st.data())
def test_both_readers_agree_on_re_maced_manifest_mutations(data, tmp_path_factory) -> None:
    share = copy(tmp_path_factory.mktemp("manifest"))
    body = golden_body()
    for _ in range(data.draw(st.integers(1, 2))):
        where = data.draw(st.sampled_from(sorted(_containers(body), key=repr)))
        obj = body
        for step in where:
            obj = obj[step]
        op = data.draw(st.sampled_from(["set", "set", "drop", "add"]))
        if op == "add" or not obj:
            obj[data.draw(st.text(max_size=6))] = data.draw(_VALUES)
        elif op == "drop":
            del obj[data.draw(st.sampled_from(sorted(obj)))]
        else:
            obj[data.draw(st.sampled_from(sorted(obj)))] = data.draw(_VALUES)
    write_manifest(share, body)
    view = engine_view(share)
    event("accepted" if view is not None else "refused")
    assert view == format_view(share)


def _golden_stream(role: str) -> bytes:
    """The role's entry stream, decrypted from the committed data file."""
    size = VECTORS["chunkSize"]
    opener = chunks.ChunkOpener(bytes.fromhex(VECTORS["subkeysHex"][f"role/{role}"]), ID, role, size)
    data = (SHARE / FOLDER / "roles" / f"{role}.ibsr").read_bytes()
    out, pos, index = bytearray(), 0, 0
    while pos < len(data):
        header = data[pos : pos + 8]
        stored, codec, final = opener.parse_header(header, index)
        out += opener.open(index, header, memoryview(data)[pos + 8 : pos + 8 + stored], codec, final,
                           bytearray(size + 16))
        pos += 8 + stored
        index += 1
    return bytes(out)


def _reseal(share: Path, role: str, stream: bytes) -> None:
    """Seal ``stream`` as the role's data file by the format's chunking; fix the figures the
    data file determines (not entries or fileBytes, which the stream must still match)."""
    size = VECTORS["chunkSize"]
    sealer = chunks.ChunkSealer(bytes.fromhex(VECTORS["subkeysHex"][f"role/{role}"]), ID, role)
    pieces = [stream[i : i + size] for i in range(0, len(stream), size)] or [b""]
    out = bytearray()
    for i, piece in enumerate(pieces):
        buf = bytearray(chunks.max_record_size(size))
        n = sealer.seal_into(i, memoryview(piece), i == len(pieces) - 1, buf)
        out += buf[:n]
    (share / FOLDER / "roles" / f"{role}.ibsr").write_bytes(bytes(out))
    body = golden_body()
    record = next(r for r in body["roles"] if r["name"] == role)
    record.update(chunks=len(pieces), plaintextBytes=len(stream), storedBytes=len(out),
                  sha256=hashlib.sha256(out).hexdigest())
    write_manifest(share, body)


@functools.cache
def _ca_stream() -> bytes:
    return _golden_stream("CA")


# Where CA's entry headers start, so mutations land on the structure, not only in file data.
def _header_offsets(stream: bytes) -> list[int]:
    offsets, pos = [], 8
    while stream[pos] != 0:
        offsets.append(pos)
        kind, n, _mode, _mtime, size = struct.unpack(">BHIqQ", stream[pos : pos + 23])
        pos += 23 + n + (0 if kind == 1 else size)
    return [*offsets, pos]


@SETTINGS
@given(data=st.data())
def test_both_readers_agree_on_re_sealed_entry_stream_mutations(data, tmp_path_factory) -> None:
    stream = bytearray(_ca_stream())
    heads = _header_offsets(bytes(stream))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.sampled_from(heads)) + data.draw(st.integers(0, 40))
        at = min(at, len(stream))
        op = data.draw(st.sampled_from(["flip", "byte", "insert", "delete", "swap"]))
        if op == "flip" and at < len(stream):
            stream[at] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "byte" and at < len(stream):
            stream[at] = data.draw(st.sampled_from([0, 1, 2, 3, 4, 0x2E, 0x2F, 0xFF]))
        elif op == "insert":
            stream[at:at] = data.draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del stream[at : at + data.draw(st.integers(1, 4))]
        elif op == "swap" and len(heads) > 3:
            i = data.draw(st.integers(1, len(heads) - 3))
            a, b, c = heads[i], heads[i + 1], heads[i + 2]
            stream[a:c] = stream[b:c] + stream[a:b]
    share = copy(tmp_path_factory.mktemp("stream"))
    _reseal(share, "CA", bytes(stream))
    view = engine_view(share)
    event("accepted" if view is not None else "refused")
    assert view == format_view(share)


def test_the_unmutated_golden_backup_reads_the_same_in_both() -> None:
    view = engine_view(SHARE)
    assert view is not None
    assert view == format_view(SHARE)
    assert len(view["CA"]) == len(VECTORS["roles"]["CA"]["tree"])


def test_verify_recomputes_the_keyless_hash_that_restore_leaves_to_the_tags(tmp_path) -> None:
    """A manifest whose ``sha256`` disagrees with its data file, MAC intact (as a writer bug
    would make it): ``verify`` and the independent reader still refuse it. ``restore`` leaves
    that hash to a reader without the key (docs/FORMAT.md), because the tags it checks cover
    every byte of the file: it restores the expected tree."""
    from ibs.engine.backup_reader import verify_role
    from ibs.engine.restore import restore_roles
    from tests.engine.golden.vectors import actual_tree, expected_tree

    share = copy(tmp_path)
    body = golden_body()
    body["roles"][0]["sha256"] = "0" * 64
    write_manifest(share, body)
    reader = BackupReader(LocalShare(share), ID)
    reader.unlock(keys()[0])
    role = body["roles"][0]["name"]
    try:
        verify_role(reader, role)
    except IntegrityError as exc:
        assert "does not match the manifest" in str(exc)
    else:
        raise AssertionError("verify accepted a sha256 that is not its data file's")
    assert format_view(share) is None
    restore_roles(reader, [role], str(tmp_path / "out"), threads=False)
    assert actual_tree(tmp_path / "out" / role) == expected_tree(role)
