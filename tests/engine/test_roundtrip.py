"""Backup then restore gives back every name, byte, mode, mtime and symlink, for any tree."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.engine.backup_reader import BackupReader, verify_role
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.certs import load_certificate
from ibs.engine.restore import restore_roles
from ibs.engine.share import LocalShare
from ibs.engine.source import DirectorySource
from tests.engine.conftest import T0, tree_snapshot

CHUNK = 4096

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\x00"),
    min_size=1, max_size=12,
).filter(lambda n: n not in (".", "..") and len(n.encode()) < 200)
contents = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    st.integers(0, 3 * CHUNK + 17).map(lambda n: bytes(range(256)) * (n // 256) + bytes(n % 256)),
    st.integers(1, 2 * CHUNK).map(os.urandom),
)
modes = st.sampled_from([0o644, 0o600, 0o755, 0o400, 0o640])
mtimes = st.integers(0, 2**33).map(lambda s: s * 1_000_000_000 + 123456789)


@st.composite
def trees(draw, depth=0):
    """A folder as {name: bytes | ("link", target) | dict}, plus modes and mtimes."""
    entries = draw(st.dictionaries(names, st.none(), max_size=5 if depth < 2 else 3))
    node = {}
    for name in entries:
        kind = draw(st.sampled_from(["file", "file", "link", "dir"] if depth < 2 else ["file", "link"]))
        if kind == "file":
            node[name] = ("file", draw(contents), draw(modes), draw(mtimes))
        elif kind == "link":
            node[name] = ("link", draw(st.sampled_from(["a", "../x", "/etc/hostname", "sub dir/ü"])))
        else:
            node[name] = ("dir", draw(trees(depth=depth + 1)), draw(st.sampled_from([0o755, 0o700, 0o555])),
                          draw(mtimes))
    return node


def build(root: Path, node: dict) -> None:
    for name, spec in node.items():
        path = root / name
        if spec[0] == "file":
            path.write_bytes(spec[1])
            os.chmod(path, spec[2])
            os.utime(path, ns=(spec[3], spec[3]))
        elif spec[0] == "link":
            os.symlink(spec[1], path)
    for name, spec in node.items():
        if spec[0] == "dir":
            path = root / name
            path.mkdir()
            build(path, spec[1])
            os.chmod(path, spec[2])
            os.utime(path, ns=(spec[3], spec[3]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees(), threads=st.booleans())
def test_any_tree_round_trips(cert_pair, tree, threads):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        build(src, tree)
        os.utime(src, ns=(10**18, 10**18))
        share_dir = Path(tmp) / "share"
        share_dir.mkdir()
        share = LocalShare(share_dir)
        backup_id = uuid.uuid4()
        writer = BackupWriter(share, load_certificate(cert_pair.cer), backup_id, T0,
                              {"Domain": DirectorySource(src)}, chunk_size=CHUNK, threads=threads)
        for _ in writer.steps():
            pass
        assert [o.error for o in writer.outcomes] == [None]
        reader = BackupReader(share, backup_id)
        reader.unlock(cert_pair.key)
        verify_role(reader, "Domain")
        target = Path(tmp) / "target"
        restore_roles(reader, ["Domain"], str(target))
        assert tree_snapshot(target / "Domain") == tree_snapshot(src)
        # Restore made the files writable again for the cleanup of the temporary folder.
        for dirpath, dirnames, _ in os.walk(tmp):
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o755)


def test_stream_length_multiple_of_chunk_size_round_trips(tmp_path, cert_pair):
    """The final flag must land on the last chunk even when it is exactly full."""
    from ibs.engine.entries import END, ENTRY, STREAM_MAGIC

    src = tmp_path / "src"
    src.mkdir()
    name = b"f"
    overhead = len(STREAM_MAGIC) + 2 * ENTRY.size + len(name) + END.size
    (src / "f").write_bytes(b"x" * (2 * CHUNK - overhead))
    share = LocalShare(tmp_path)
    backup_id = uuid.uuid4()
    writer = BackupWriter(share, load_certificate(cert_pair.cer), backup_id, T0,
                          {"CA": DirectorySource(src)}, chunk_size=CHUNK, threads=False)
    list(writer.steps())
    record = writer.outcomes[0].record
    assert record is not None and record.plaintextBytes == 2 * CHUNK and record.chunks == 2
    reader = BackupReader(share, backup_id)
    reader.unlock(cert_pair.key)
    restore_roles(reader, ["CA"], str(tmp_path / "out"))
    assert (tmp_path / "out" / "CA" / "f").read_bytes() == (src / "f").read_bytes()


def test_threaded_and_inline_pipelines_write_the_same_stream(tmp_path, cert_pair):
    """Threads change speed, never content: the plaintext streams are identical."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(20):
        (src / f"f{i}").write_bytes(os.urandom(1000 * i) + b"abc" * 3000)
    lengths = []
    for threads in (False, True):
        share = LocalShare(tmp_path)
        writer = BackupWriter(share, load_certificate(cert_pair.cer), uuid.uuid4(), T0,
                              {"CA": DirectorySource(src)}, chunk_size=CHUNK, threads=threads)
        list(writer.steps())
        record = writer.outcomes[0].record
        lengths.append((record.plaintextBytes, record.chunks, record.storedBytes))
    assert lengths[0] == lengths[1]
