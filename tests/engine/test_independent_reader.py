"""A reader written from docs/FORMAT.md alone (tests/engine/format_reader.py) restores what the
engine writes, byte for byte, and refuses what the engine refuses: the document is enough."""

from __future__ import annotations

import functools
import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.engine import manifest
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.certs import load_certificate
from ibs.engine.share import LocalShare
from ibs.engine.source import DirectorySource
from tests.engine import format_reader as fr
from tests.engine.conftest import T0, tree_snapshot
from tests.engine.golden.vectors import (
    BACKUP_ID,
    PASSWORD,
    PFX,
    RENEWED_PFX,
    SHARE,
    TAMPERED,
    VECTORS,
    actual_tree,
    expected_tree,
    tampered_share,
)

CHUNK = 4096


@functools.cache
def golden_key() -> fr.Key:
    return fr.load_pfx(PFX, PASSWORD)


def test_it_restores_the_golden_backup_byte_for_byte(tmp_path: Path) -> None:
    backup = fr.open_backup(SHARE, BACKUP_ID, golden_key())
    assert backup.data_key.hex() == VECTORS["dataKeyHex"]
    unsigned = {k: v for k, v in backup.manifest.items() if k != "mac"}
    assert fr.canonical(unsigned) == VECTORS["canonicalManifest"]
    fr.restore(backup, sorted(VECTORS["roles"]), tmp_path)
    for role in VECTORS["roles"]:
        assert actual_tree(tmp_path / role) == expected_tree(role)


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_it_refuses_every_tampered_variant(name: str, tmp_path: Path) -> None:
    share = tampered_share(name, tmp_path)
    target = tmp_path / "target"
    with pytest.raises(fr.FormatError):
        backup = fr.open_backup(share, BACKUP_ID, golden_key())
        fr.restore(backup, [r["name"] for r in backup.manifest["roles"]], target)
    assert not target.exists()


def test_certificate_outcomes(other_cert_pair) -> None:
    with pytest.raises(fr.WrongCertificate, match=VECTORS["certificateThumbprint"]):
        fr.open_backup(SHARE, BACKUP_ID, fr.load_pfx(other_cert_pair.pfx, other_cert_pair.password))
    renewed = fr.load_pfx(RENEWED_PFX, PASSWORD)
    assert renewed.thumbprint != VECTORS["certificateThumbprint"]
    assert fr.open_backup(SHARE, BACKUP_ID, renewed).data_key.hex() == VECTORS["dataKeyHex"]


_NAME = st.binary(min_size=1, max_size=6).filter(
    lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b".."))
_SIZE = st.one_of(st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK]),
                  st.integers(0, 3 * CHUNK))


@st.composite
def trees(draw) -> list[tuple]:
    """Folders, files (sizes around chunk boundaries, random or repetitive) and symlinks."""
    out, folders, used = [], [b""], set()
    for _ in range(draw(st.integers(0, 12))):
        parent = draw(st.sampled_from(folders))
        path = parent + b"/" + draw(_NAME) if parent else draw(_NAME)
        if path in used:
            continue
        used.add(path)
        kind = draw(st.sampled_from(["dir", "file", "file", "link"]))
        mtime = draw(st.integers(-(10**17), 2 * 10**18))
        if kind == "dir":
            folders.append(path)
            out.append(("dir", path, draw(st.sampled_from([0o700, 0o750, 0o755])), mtime, b""))
        elif kind == "file":
            size = draw(_SIZE)
            data = os.urandom(size) if draw(st.booleans()) else (b"abc" * size)[:size]
            out.append(("file", path, draw(st.sampled_from([0o600, 0o644, 0o755, 0o4755])), mtime, data))
        else:
            out.append(("link", path, 0, mtime, draw(st.binary(min_size=1, max_size=300).filter(
                lambda t: b"\x00" not in t))))
    return out


def _build(root: Path, tree: list[tuple]) -> None:
    base = os.fsencode(root)
    os.makedirs(base)
    for kind, path, _mode, _mtime, data in tree:
        full = os.path.join(base, path)
        if kind == "dir":
            os.mkdir(full)
        elif kind == "file":
            with open(full, "wb") as f:
                f.write(data)
        else:
            os.symlink(data, full)
    for kind, path, mode, mtime, _data in reversed(tree):  # children before their folder
        full = os.path.join(base, path)
        if kind != "link":
            os.chmod(full, mode)
        os.utime(full, ns=(mtime, mtime), follow_symlinks=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ca=trees(), was=trees())
def test_it_restores_a_fresh_backup_byte_for_byte(ca, was, cert_pair, tmp_path_factory) -> None:
    tmp = tmp_path_factory.mktemp("fresh")
    _build(tmp / "src" / "CA", ca)
    _build(tmp / "src" / "WAS", was)
    share = tmp / "share"
    share.mkdir()
    backup_id = uuid.uuid4()
    writer = BackupWriter(LocalShare(share), load_certificate(cert_pair.cer), backup_id, T0,
                          {r: DirectorySource(tmp / "src" / r) for r in ("CA", "WAS")},
                          chunk_size=CHUNK, info={"stampVersion": "1.0", "note": "\u00e9\U0001f600"},
                          threads=False)
    for _ in writer.steps():
        pass
    backup = fr.open_backup(share, str(backup_id), _fresh_key(cert_pair.pfx, cert_pair.password))
    fr.restore(backup, ["CA", "WAS"], tmp / "out")
    for role in ("CA", "WAS"):
        assert tree_snapshot(tmp / "out" / role) == tree_snapshot(tmp / "src" / role)


@functools.cache
def _fresh_key(pfx: bytes, password: str) -> fr.Key:
    return fr.load_pfx(pfx, password)


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_JSON = st.recursive(
    st.one_of(_TEXT, st.integers(0, 2**63 - 1)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(value=st.dictionaries(_TEXT, _JSON, max_size=4))
def test_the_documented_json_rules_are_what_the_engine_writes(value) -> None:
    """FORMAT.md defines both JSON forms as rules; the engine's bytes must follow them exactly."""
    assert fr.canonical(value).encode("ascii") == manifest.canonical(value)
    assert (fr.file_form(value) + "\n").encode("ascii") == manifest.file_form(value)
