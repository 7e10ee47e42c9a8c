"""Any change to a backup on the share is an integrity error, and restore writes nothing."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.engine.backup_reader import BackupReader, verify_role
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.certs import load_certificate
from ibs.engine.errors import CertificateError, IntegrityError
from ibs.engine.restore import restore_roles
from ibs.engine.share import LocalShare
from ibs.engine.source import DirectorySource
from tests.engine.conftest import T0, make_tree

CHUNK = 4096


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, cert_pair):
    """Two backups of two roles, several chunks each; tests work on copies."""
    root = tmp_path_factory.mktemp("pristine")
    src = {
        "CA": make_tree(root / "src" / "CA", {"a": os.urandom(3 * CHUNK), "b/c": b"text " * 3000}),
        "WAS": make_tree(root / "src" / "WAS", {"x": os.urandom(2 * CHUNK + 5), "y": b""}),
    }
    share = root / "share"
    share.mkdir()
    ids = []
    for _ in range(2):
        backup_id = uuid.uuid4()
        writer = BackupWriter(LocalShare(share), load_certificate(cert_pair.cer), backup_id, T0,
                              {k: DirectorySource(v) for k, v in src.items()}, chunk_size=CHUNK,
                              threads=False)
        list(writer.steps())
        ids.append(backup_id)
    return share, ids


def files_of(share: Path, backup_id) -> list[Path]:
    folder = share / "MASBackup" / str(backup_id)
    return sorted(p for p in folder.rglob("*") if p.is_file())


def check_refused(share: Path, backup_id, key, target: Path) -> None:
    """Verify and restore both raise IntegrityError, and the target gets nothing."""
    with pytest.raises(IntegrityError):
        reader = BackupReader(LocalShare(share), backup_id)
        reader.unlock(key)
        for role in reader.manifest.roles:
            verify_role(reader, role.name)
    target.mkdir(exist_ok=True)
    with pytest.raises(IntegrityError):
        reader = BackupReader(LocalShare(share), backup_id)
        reader.unlock(key)
        restore_roles(reader, [r.name for r in reader.manifest.roles], str(target))
    assert list(target.iterdir()) == []


def copy_share(pristine, tmp: Path) -> Path:
    share = tmp / "share"
    shutil.copytree(pristine[0], share)
    return share


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipping_any_byte_is_detected(pristine, cert_pair, tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("flip")
    share = copy_share(pristine, tmp)
    backup_id = pristine[1][0]
    victim = data.draw(st.sampled_from(files_of(share, backup_id)))
    raw = bytearray(victim.read_bytes())
    pos = data.draw(st.integers(0, len(raw) - 1))
    bit = data.draw(st.integers(0, 7))
    raw[pos] ^= 1 << bit
    victim.write_bytes(bytes(raw))
    check_refused(share, backup_id, cert_pair.key, tmp / "target")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_truncating_any_file_is_detected(pristine, cert_pair, tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("trunc")
    share = copy_share(pristine, tmp)
    backup_id = pristine[1][0]
    victim = data.draw(st.sampled_from(files_of(share, backup_id)))
    size = victim.stat().st_size
    cut = data.draw(st.integers(0, size - 1))
    os.truncate(victim, cut)
    check_refused(share, backup_id, cert_pair.key, tmp / "target")


def _role_files(share: Path, backup_id) -> list[Path]:
    return [p for p in files_of(share, backup_id) if p.suffix == ".ibsr"]


@pytest.mark.parametrize("across_backups", [False, True])
def test_swapping_chunk_bearing_files_is_detected(pristine, cert_pair, tmp_path, across_backups):
    share = copy_share(pristine, tmp_path)
    first, second = pristine[1]
    a = _role_files(share, first)[0]
    b = _role_files(share, second)[0] if across_backups else _role_files(share, first)[1]
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    check_refused(share, first, cert_pair.key, tmp_path / "target")


def _records(data: bytes) -> list[bytes]:
    from ibs.engine.chunks import HEADER

    out, pos = [], 0
    while pos < len(data):
        length = HEADER.unpack_from(data, pos)[0]
        out.append(data[pos : pos + HEADER.size + length])
        pos += HEADER.size + length
    return out


def test_reordering_chunks_is_detected(pristine, cert_pair, tmp_path):
    share = copy_share(pristine, tmp_path)
    backup_id = pristine[1][0]
    victim = next(p for p in _role_files(share, backup_id) if p.name == "CA.ibsr")
    records = _records(victim.read_bytes())
    assert len(records) >= 3
    records[0], records[1] = records[1], records[0]
    victim.write_bytes(b"".join(records))
    check_refused(share, backup_id, cert_pair.key, tmp_path / "target")


def test_chunk_moved_between_roles_is_detected(pristine, cert_pair, tmp_path):
    share = copy_share(pristine, tmp_path)
    backup_id = pristine[1][0]
    ca, was = (next(p for p in _role_files(share, backup_id) if p.name == n)
               for n in ("CA.ibsr", "WAS.ibsr"))
    ca_records, was_records = _records(ca.read_bytes()), _records(was.read_bytes())
    ca_records[0] = was_records[0]
    ca.write_bytes(b"".join(ca_records))
    check_refused(share, backup_id, cert_pair.key, tmp_path / "target")


def test_dropping_the_final_chunk_is_detected(pristine, cert_pair, tmp_path):
    share = copy_share(pristine, tmp_path)
    backup_id = pristine[1][0]
    victim = _role_files(share, backup_id)[0]
    victim.write_bytes(b"".join(_records(victim.read_bytes())[:-1]))
    check_refused(share, backup_id, cert_pair.key, tmp_path / "target")


def test_wrong_pfx_names_the_expected_thumbprint_and_writes_nothing(pristine, cert_pair,
                                                                  other_cert_pair, tmp_path):
    share, ids = pristine
    reader = BackupReader(LocalShare(share), ids[0])
    with pytest.raises(CertificateError) as info:
        reader.unlock(other_cert_pair.key)
    assert cert_pair.thumbprint in str(info.value)
    assert other_cert_pair.thumbprint in str(info.value)
