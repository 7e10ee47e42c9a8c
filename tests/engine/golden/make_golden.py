"""Make the golden test vectors of docs/FORMAT.md. Run by hand, never by tests.

    PYTHONPATH=$PWD python tests/engine/golden/make_golden.py [--force]

Tests decode the committed vectors; they must never regenerate them, or a change to the format
would silently make new vectors that agree with it. So this script refuses to overwrite existing
vectors without ``--force``: regenerate only for a deliberate new format version, and say so.

It writes, under this folder: a backup made by the engine's writer (``share/``), the TEST-ONLY
certificate and PFX it was made for (plus a renewed certificate with the same key),
``vectors.json`` (the data key, subkeys, canonical manifest, every chunk and the expected tree),
and ``tampered/<name>/``: copies of the files one rule-breaking change touches, each with the
error a reader must give (``tampered.json``). Each tampered backup is consistent in everything
but its one breach (figures, hashes and MAC recomputed where the breach is elsewhere), so it
tests that one rule and nothing else.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import io
import json
import random
import shutil
import struct
import sys
import uuid
from pathlib import Path

import zstandard
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs12

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from ibs.engine import certs, chunks, keys, layout
from ibs.engine import manifest as mf
from ibs.engine.backup_writer import BackupWriter
from ibs.engine.entries import END, STREAM_MAGIC, Entry, Kind, pack_entry
from ibs.engine.share import LocalShare
from ibs.engine.source import SourceItem

BACKUP_ID = uuid.UUID("5d9a7c1e-2b4f-4e8a-9c3d-7f1e2a6b8c40")
CREATED = dt.datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)
CHUNK = 4096
PASSWORD = "golden-TEST-ONLY-not-a-secret"
T = 1_772_352_000_123_456_789  # 2026-03-01T08:00:00.123456789Z, in ns
INFO = {"deploymentID": "0b4e9d7c-5a61-4f2e-8d3b-c1a2e3f4a5b6", "stampVersion": "1.2108.2.65",
        "oemVersion": "Contoso \u00dcn\u00efc\u00f8de \u2713 \U0001f600\t(test)"}

# (kind, path, mode, mtime_ns, contents or target)
Spec = tuple[Kind, bytes, int, int, bytes]


def ca_tree() -> list[Spec]:
    rng = random.Random(1)
    return [
        (Kind.DIR, b"", 0o750, T, b""),
        (Kind.DIR, b"a", 0o755, T + 1, b""),
        (Kind.SYMLINK, b"a/abs", 0o777, T + 2, b"/nonexistent/target"),
        (Kind.FILE, b"a/empty", 0o600, T + 3, b""),
        (Kind.SYMLINK, b"a/link", 0o777, T + 4, b"../big.bin"),
        (Kind.FILE, b"a.b", 0o644, T + 5, b"sorts after the folder a and all it holds\n"),
        (Kind.FILE, b"big.bin", 0o640, T + 6, rng.randbytes(8500)),  # spans three chunks
        (Kind.FILE, "caf\u00e9.txt".encode(), 0o644, -86_400_000_000_001, b"before 1970\n"),
        (Kind.FILE, b"exact.bin", 0o4755, T + 7, rng.randbytes(CHUNK)),  # exactly chunkSize
        (Kind.FILE, b"raw-\xff.bin", 0o600, T + 8, b"a name that is not UTF-8\n"),
    ]


def was_tree() -> list[Spec]:
    """Compressible text whose entry stream is exactly 3 x chunkSize: the final chunk is full."""
    log = b"".join(b"2026-03-01 08:00:%02d.%06d GET /health 200 %d\n" % (i % 60, i * 7919 % 10**6, i)
                   for i in range(150))
    head: list[Spec] = [
        (Kind.DIR, b"", 0o750, T, b""),
        (Kind.DIR, b"logs", 0o750, T, b""),
        (Kind.FILE, b"logs/app.log", 0o640, T, log),
    ]
    fixed = len(STREAM_MAGIC) + END.size + sum(23 + len(p) + len(d) for _, p, _, _, d in head)
    fixed += 23 + len(b"state.json")
    state_len = 3 * CHUNK - fixed
    state = (b'{"sites": [' + b", ".join(b'"site-%03d"' % i for i in range(1000)))[: state_len - 3] + b"]}\n"
    assert len(state) == state_len
    return [*head, (Kind.FILE, b"state.json", 0o640, T, state)]


def stream_of(tree: list[Spec]) -> bytes:
    out = bytearray(STREAM_MAGIC)
    for kind, path, mode, mtime, data in tree:
        out += pack_entry(Entry(kind, path, mode, mtime, len(data) if kind is not Kind.DIR else 0))
        out += data
    return bytes(out + END.pack(Kind.END, len(tree)))


class ListSource:
    def __init__(self, tree: list[Spec]) -> None:
        self.tree = tree

    def total_bytes(self) -> int:
        return sum(len(d) for k, _, _, _, d in self.tree if k is Kind.FILE)

    def items(self):
        for kind, path, mode, mtime, data in self.tree:
            size = 0 if kind is Kind.DIR else len(data)
            entry = Entry(kind, path, mode, mtime, size)
            if kind is Kind.FILE:
                yield SourceItem(entry, open=lambda data=data: io.BytesIO(data))
            elif kind is Kind.SYMLINK:
                yield SourceItem(entry, target=data)
            else:
                yield SourceItem(entry)


def records_of(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        stored = chunks.HEADER.unpack_from(data, pos)[0]
        out.append(data[pos : pos + chunks.HEADER_SIZE + stored])
        pos += chunks.HEADER_SIZE + stored
    return out


def seal(key: bytes, role: str, index: int, payload: bytes, codec: int, final: bool,
         aad_index: int | None = None, nonce_index: int | None = None) -> bytes:
    header = chunks.HEADER.pack(len(payload) + chunks.TAG_SIZE, codec,
                                chunks.FLAG_FINAL if final else 0, 0)
    aad = chunks.aad(BACKUP_ID, role, index if aad_index is None else aad_index, header)
    nonce = chunks.nonce(index if nonce_index is None else nonce_index)
    return header + AESGCM(key).encrypt(nonce, payload, aad)


def seal_stream(key: bytes, role: str, stream: bytes) -> bytes:
    sealer = chunks.ChunkSealer(key, BACKUP_ID, role)
    pieces = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    out = bytearray()
    for i, piece in enumerate(pieces):
        buf = bytearray(chunks.max_record_size(CHUNK))
        n = sealer.seal_into(i, memoryview(piece), i == len(pieces) - 1, buf)
        out += buf[:n]
    return bytes(out)


def describe_tree(tree: list[Spec]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for kind, path, mode, mtime, data in tree:
        item: dict[str, object] = {"kind": kind.name.lower(), "pathHex": path.hex(), "mode": mode,
                                   "mtimeNs": mtime}
        if kind is Kind.FILE:
            item.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        elif kind is Kind.SYMLINK:
            item.update(targetHex=data.hex())
        out.append(item)
    return out


def describe_chunks(key: bytes, role: str, data: bytes) -> list[dict[str, object]]:
    out = []
    for i, rec in enumerate(records_of(data)):
        stored, codec, flags, _ = chunks.HEADER.unpack_from(rec)
        payload = AESGCM(key).decrypt(chunks.nonce(i), rec[8:], chunks.aad(BACKUP_ID, role, i, rec[:8]))
        plain = zstandard.ZstdDecompressor().decompress(payload) if codec else payload
        out.append({"index": i, "codec": codec, "final": bool(flags & 1), "stored": stored,
                    "plainBytes": len(plain), "plainSha256": hashlib.sha256(plain).hexdigest()})
    return out


def renewed_certificate(pfx: bytes) -> tuple[bytes, bytes]:
    """The same key under a new certificate: what a renewal that keeps the key gives."""
    bundle = pkcs12.load_pkcs12(pfx, PASSWORD.encode())
    key = bundle.key
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "IBS golden TEST-ONLY renewed")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(CREATED).not_valid_after(CREATED + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    enc = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(1000)
           .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
           .build(PASSWORD.encode()))
    return (cert.public_bytes(serialization.Encoding.DER),
            pkcs12.serialize_key_and_certificates(b"renewed", key, cert, None, enc))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="overwrite the committed vectors")
    args = ap.parse_args()
    if (HERE / "vectors.json").exists() and not args.force:
        sys.exit("golden vectors exist; they are the format's reference. Use --force only for a "
                 "deliberate format change (and a new formatVersion).")
    for old in ("share", "tampered"):
        shutil.rmtree(HERE / old, ignore_errors=True)

    cer, pfx = certs.new_certificate("IBS golden TEST-ONLY", PASSWORD, now=CREATED)
    renewed_cer, renewed_pfx = renewed_certificate(pfx)
    (HERE / "TEST-ONLY-golden.cer").write_bytes(cer)
    (HERE / "TEST-ONLY-golden.pfx").write_bytes(pfx)
    (HERE / "TEST-ONLY-renewed.cer").write_bytes(renewed_cer)
    (HERE / "TEST-ONLY-renewed.pfx").write_bytes(renewed_pfx)
    (HERE / "TEST-ONLY-password.txt").write_text(PASSWORD + "\n")

    trees = {"CA": ca_tree(), "WAS": was_tree()}
    share_root = HERE / "share"
    share_root.mkdir()
    writer = BackupWriter(LocalShare(share_root), certs.load_certificate(cer), BACKUP_ID, CREATED,
                          {name: ListSource(tree) for name, tree in trees.items()},
                          chunk_size=CHUNK, info=INFO, threads=False)
    for _ in writer.steps():
        pass
    folder = share_root / layout.backup_dir(BACKUP_ID)
    raw_manifest = (folder / layout.MANIFEST).read_bytes()
    body = json.loads(raw_manifest)
    data_key = keys.unwrap(certs.load_pfx(pfx, PASSWORD), base64.b64decode(body["keyWrap"]["wrappedKey"]),
                           BACKUP_ID)
    mac_key = keys.derive(data_key, BACKUP_ID, "manifest")
    role_keys = {name: keys.derive(data_key, BACKUP_ID, f"role/{name}") for name in trees}
    unsigned = {k: v for k, v in body.items() if k != "mac"}

    vectors = {
        "warning": "TEST-ONLY key material: this data key and PFX protect nothing but these vectors.",
        "backupId": str(BACKUP_ID),
        "backupIdBytesHex": BACKUP_ID.bytes.hex(),
        "pfxPassword": PASSWORD,
        "certificateThumbprint": certs.thumbprint(cer),
        "renewedCertificateThumbprint": certs.thumbprint(renewed_cer),
        "chunkSize": CHUNK,
        "dataKeyHex": data_key.hex(),
        "oaepLabelHex": (keys.OAEP_LABEL_PREFIX + BACKUP_ID.bytes).hex(),
        "subkeysHex": {"manifest": mac_key.hex(), **{f"role/{n}": k.hex() for n, k in role_keys.items()}},
        "canonicalManifest": mf.canonical(unsigned).decode("ascii"),
        "roles": {
            name: {
                "entryStreamSha256": hashlib.sha256(stream_of(tree)).hexdigest(),
                "entryStreamBytes": len(stream_of(tree)),
                "chunks": describe_chunks(role_keys[name], name,
                                          (folder / mf.role_file(name)).read_bytes()),
                "tree": describe_tree(tree),
            }
            for name, tree in trees.items()
        },
    }
    (HERE / "vectors.json").write_text(json.dumps(vectors, indent=2) + "\n")

    was_file = folder / mf.role_file("WAS")
    was = records_of(was_file.read_bytes())
    was_key = role_keys["WAS"]
    was_plain = stream_of(trees["WAS"])
    tampered: dict[str, dict[str, str]] = {}

    def remac(b: dict) -> bytes:
        b = {k: v for k, v in b.items() if k != "mac"}
        return mf.file_form({**b, "mac": mf.mac(mac_key, b)})

    def with_was(data: bytes, **figures: int) -> bytes:
        """The manifest for a new WAS data file, re-MACed: consistent in all but the breach."""
        b = json.loads(raw_manifest)
        role = next(r for r in b["roles"] if r["name"] == "WAS")
        role.update(storedBytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                    chunks=len(records_of(data)), **figures)
        return remac(b)

    def variant(name: str, rule: str, message: str, files: dict[str, bytes]) -> None:
        where = HERE / "tampered" / name
        for rel, data in files.items():
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            (where / rel).write_bytes(data)
        tampered[name] = {"rule": rule, "error": "IntegrityError", "message": message}

    def was_variant(name: str, rule: str, message: str, data: bytes, **figures: int) -> None:
        variant(name, rule, message, {"manifest.json": with_was(data, **figures),
                                      "roles/WAS.ibsr": data})

    flipped = bytearray(was[1])
    flipped[20] ^= 0x01
    was_variant("flipped-ciphertext-byte", "a record must authenticate",
                "chunk 1 does not authenticate", b"".join([was[0], bytes(flipped), was[2]]))
    was_variant("swapped-chunks", "the chunk index is in the nonce and the associated data",
                "chunk 0 does not authenticate", b"".join([was[1], was[0], was[2]]))

    def recodec(i: int) -> tuple[bytes, int]:
        _stored, codec, _, _ = chunks.HEADER.unpack_from(was[i])
        payload = AESGCM(was_key).decrypt(chunks.nonce(i), was[i][8:],
                                          chunks.aad(BACKUP_ID, "WAS", i, was[i][:8]))
        return payload, codec

    payload1, codec1 = recodec(1)
    was_variant("chunk-sealed-for-another-index", "record i is sealed with index i",
                "chunk 1 does not authenticate",
                b"".join([was[0], seal(was_key, "WAS", 1, payload1, codec1, False, aad_index=2,
                                       nonce_index=2), was[2]]))
    was_variant("aad-index-changed", "the chunk index is in the associated data",
                "chunk 1 does not authenticate",
                b"".join([was[0], seal(was_key, "WAS", 1, payload1, codec1, False, aad_index=2),
                          was[2]]))

    frame0 = zstandard.ZstdCompressor(level=3).compress(was_plain[:CHUNK])
    skippable = struct.pack("<II", 0x184D2A50, 4) + b"skip"
    was_variant("zstd-trailing-bytes", "a codec-1 payload is exactly one zstd frame",
                "not exactly one zstd frame",
                b"".join([seal(was_key, "WAS", 0, frame0 + b"\x00", 1, False), was[1], was[2]]))
    was_variant("zstd-skippable-frame", "a codec-1 payload is exactly one zstd frame",
                "not exactly one zstd frame",
                b"".join([seal(was_key, "WAS", 0, skippable + frame0, 1, False), was[1], was[2]]))

    payload2, codec2 = recodec(2)
    was_variant("empty-final-chunk", "no chunk is empty: a full last chunk is the final one",
                "chunk 3 has the wrong size",
                b"".join([was[0], was[1], seal(was_key, "WAS", 2, payload2, codec2, False),
                          seal(was_key, "WAS", 3, b"", 0, True)]))

    tree = trees["WAS"]
    out_of_order = [tree[0], tree[3], tree[1], tree[2]]
    was_variant("entries-out-of-order", "entries in depth-first pre-order, names sorted bytewise",
                "is out of order", seal_stream(was_key, "WAS", stream_of(out_of_order)))
    with_link = [*tree[:2], tree[2], (Kind.SYMLINK, b"logs/current", 0o777, T, b"app\x00.log"),
                 tree[3]]
    stream = stream_of(with_link)
    was_variant("symlink-target-with-nul", "a symlink target holds no NUL byte", "NUL byte",
                seal_stream(was_key, "WAS", stream), plaintextBytes=len(stream), entries=5)
    long_link = [*tree[:3], (Kind.SYMLINK, b"logs/current", 0o777, T, b"x" * 4096), tree[3]]
    stream = stream_of(long_link)
    was_variant("symlink-target-too-long", "a symlink target is 1 to 4095 bytes",
                "impossible target length", seal_stream(was_key, "WAS", stream),
                plaintextBytes=len(stream), entries=5)
    was_variant("file-bytes-figure-wrong", "fileBytes counts file contents only",
                "does not match the manifest", was_file.read_bytes(),
                fileBytes=json.loads(raw_manifest)["roles"][1]["fileBytes"] + 1)

    b = json.loads(raw_manifest)
    b["createdDateTime"] = "2026-03-01T08:00:01.123456Z"
    variant("altered-manifest-member", "the MAC covers every member",
            "the manifest does not authenticate", {"manifest.json": mf.file_form(b)})
    b = json.loads(raw_manifest)
    b["encryptionCertThumbprint"] = "0" * 40
    variant("thumbprint-altered", "the MAC covers the thumbprint",
            "the manifest does not authenticate", {"manifest.json": mf.file_form(b)})
    b = json.loads(raw_manifest)
    del b["mac"]
    variant("removed-mac", "mac is required", "'mac' is missing", {"manifest.json": mf.file_form(b)})
    b = json.loads(raw_manifest)
    wrapped = bytearray(base64.b64decode(b["keyWrap"]["wrappedKey"]))
    wrapped[100] ^= 0x01
    b["keyWrap"]["wrappedKey"] = base64.b64encode(bytes(wrapped)).decode()
    variant("wrapped-key-altered", "the wrapped key unwraps with the right PFX",
            "does not decrypt", {"manifest.json": remac(b)})
    b = json.loads(raw_manifest)
    b["comment"] = "a member version 1 does not have"
    variant("unknown-manifest-member", "version 1 has no other members", "unknown members",
            {"manifest.json": remac(b)})
    b = json.loads(raw_manifest)
    b["roles"].insert(1, dict(b["roles"][0], name="Ca", file="roles/Ca.ibsr"))
    variant("role-names-differ-in-case", "role names are unique ignoring case",
            "lists a role twice", {"manifest.json": remac(b)})
    b = json.loads(raw_manifest)
    b["createdDateTime"] = "2026-03-01T08:00:00.123Z"
    variant("created-time-three-digits", "createdDateTime has six fraction digits",
            "is malformed", {"manifest.json": remac(b)})
    variant("manifest-whitespace-changed", "the manifest file is in its file form",
            "not in its canonical form", {"manifest.json": raw_manifest.replace(b": ", b":  ", 1)})

    (HERE / "tampered" / "tampered.json").write_text(json.dumps(tampered, indent=2) + "\n")
    print(f"wrote {len(tampered)} tampered variants and the golden backup {BACKUP_ID}")


if __name__ == "__main__":
    main()
