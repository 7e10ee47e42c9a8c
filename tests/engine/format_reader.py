"""A second, minimal reader of the backup format, written from docs/FORMAT.md alone.

It imports nothing from engine/: only the standard library, ``cryptography`` and ``zstandard``.
If it and the engine disagree about a backup, the document is not exact enough or one of them
does not follow it. It keeps a whole role in memory, so it is for tests, not for real backups.
Every refusal is a ``FormatError``; a PFX for another certificate is a ``WrongCertificate``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import zstandard
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import pkcs12


class FormatError(Exception):
    """The backup breaks a rule of docs/FORMAT.md."""


class WrongCertificate(FormatError):
    """The PFX neither unwraps the key nor has the thumbprint the manifest names."""


# --- Layout, certificate and keys --------------------------------------------------------

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class Key:
    private_key: rsa.RSAPrivateKey
    thumbprint: str


def load_pfx(pfx: bytes, password: str) -> Key:
    private_key, cert, _ = pkcs12.load_key_and_certificates(pfx, password.encode())
    if not isinstance(private_key, rsa.RSAPrivateKey) or cert is None:
        raise ValueError("the PFX must hold an RSA key and its certificate")
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or public.key_size != 2048:
        raise ValueError("the certificate's key must be RSA-2048")
    if public.public_numbers() != private_key.public_key().public_numbers():
        raise ValueError("the PFX's key does not belong to its certificate")
    der = cert.public_bytes(serialization.Encoding.DER)
    return Key(private_key, hashlib.sha1(der).hexdigest().upper())


def thumbprint_of(cer_der: bytes) -> str:
    x509.load_der_x509_certificate(cer_der)
    return hashlib.sha1(cer_der).hexdigest().upper()


def subkey(data_key: bytes, id_bytes: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=id_bytes,
                info=b"IBS1 " + purpose.encode("ascii")).derive(data_key)


# --- JSON: canonical form and file form, built from the rules ------------------------------

_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(s: str) -> str:
    out = ['"']
    for ch in s:
        c = ord(ch)
        if 0xD800 <= c <= 0xDFFF:
            raise FormatError("a string holds a lone surrogate")
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif c < 0x20 or c == 0x7F or 0x7F < c <= 0xFFFF:
            out.append(f"\\u{c:04x}")
        elif c > 0xFFFF:
            c -= 0x10000
            out.append(f"\\u{0xD800 + (c >> 10):04x}\\u{0xDC00 + (c & 0x3FF):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _scalar(v: object) -> str:
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise FormatError(f"the manifest holds a value of a kind the format does not use: {v!r}")


def canonical(v: object) -> str:
    if isinstance(v, dict):
        return "{" + ",".join(_string(k) + ":" + canonical(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    return _scalar(v)


def file_form(v: object, depth: int = 0) -> str:
    inner, outer = "  " * (depth + 1), "  " * depth
    if isinstance(v, dict):
        if not v:
            return "{}"
        lines = [inner + _string(k) + ": " + file_form(v[k], depth + 1) for k in sorted(v)]
        return "{\n" + ",\n".join(lines) + "\n" + outer + "}"
    if isinstance(v, list):
        if not v:
            return "[]"
        return "[\n" + ",\n".join(inner + file_form(x, depth + 1) for x in v) + "\n" + outer + "]"
    return _scalar(v)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in pairs:
        if k in out:
            raise FormatError(f"the manifest names {k!r} twice")
        out[k] = v
    return out


def _refuse(text: str) -> object:
    raise FormatError(f"the manifest holds a number that is not an integer: {text}")


# --- Manifest ----------------------------------------------------------------------------

TOP = {"backupId": str, "chunkSize": int, "cipher": str, "compression": str,
       "createdDateTime": str, "encryptionCertThumbprint": str, "formatVersion": int,
       "info": dict, "keyWrap": dict, "mac": str, "roles": list}
KEYWRAP = {"algorithm": str, "wrappedKey": str}
ROLE = {"name": str, "file": str, "chunks": int, "entries": int, "fileBytes": int,
        "plaintextBytes": int, "storedBytes": int, "sha256": str}
ROLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
THUMB = re.compile(r"^[0-9A-F]{40}$")
TIME = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})Z$")


def _members(obj: object, spec: dict[str, type], where: str) -> dict:
    if not isinstance(obj, dict) or set(obj) != set(spec):
        raise FormatError(f"{where} does not have exactly the members of version 1")
    for name, kind in spec.items():
        value = obj[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise FormatError(f"{where} member {name} is not a {kind.__name__}")
        if kind is int and not 0 <= value <= 2**63 - 1:
            raise FormatError(f"{where} member {name} is out of range")
    return obj


def read_manifest(raw: bytes, folder_name: str) -> dict:
    try:
        text = raw.decode("ascii")
        body = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_refuse,
                          parse_constant=_refuse)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FormatError(f"the manifest is not ASCII JSON: {exc}") from None
    if (file_form(body) + "\n") != text:
        raise FormatError("the manifest is not in its file form")
    _members(body, TOP, "the manifest")
    if body["formatVersion"] != 1 or body["cipher"] != "AES-256-GCM" or body["compression"] != "zstd":
        raise FormatError("the manifest's version, cipher or compression is not version 1's")
    if body["backupId"] != folder_name or not GUID.match(folder_name):
        raise FormatError("the manifest's backupId is not its folder's name")
    if not 4096 <= body["chunkSize"] <= 16 * 1024 * 1024:
        raise FormatError("chunkSize is out of bounds")
    m = TIME.match(body["createdDateTime"])
    try:
        if not m:
            raise ValueError
        dt.datetime(*(int(g) for g in m.groups()))
    except ValueError:
        raise FormatError("createdDateTime is malformed") from None
    if not THUMB.match(body["encryptionCertThumbprint"]) or not HEX64.match(body["mac"]):
        raise FormatError("the thumbprint or the mac is malformed")
    if not all(isinstance(v, str) for v in body["info"].values()):
        raise FormatError("info holds a value that is not a string")
    canonical(body["info"])  # refuses lone surrogates
    wrap = _members(body["keyWrap"], KEYWRAP, "keyWrap")
    if wrap["algorithm"] != "RSA-OAEP-SHA256":
        raise FormatError("keyWrap names another algorithm")
    try:
        wrapped = base64.b64decode(wrap["wrappedKey"], validate=True)
    except ValueError:
        raise FormatError("wrappedKey is not base64") from None
    if len(wrap["wrappedKey"]) != 344 or base64.b64encode(wrapped).decode() != wrap["wrappedKey"]:
        raise FormatError("wrappedKey is not 256 bytes in canonical base64")
    names = []
    for role in body["roles"]:
        _members(role, ROLE, "a role")
        if not ROLE_NAME.match(role["name"]) or role["file"] != f"roles/{role['name']}.ibsr":
            raise FormatError(f"role {role['name']!r} is malformed")
        if not HEX64.match(role["sha256"]):
            raise FormatError(f"role {role['name']}: sha256 is malformed")
        names.append(role["name"])
    if not names or names != sorted(names) or len({n.lower() for n in names}) != len(names):
        raise FormatError("roles are missing, unsorted, or named twice ignoring case")
    return body


# --- Opening a backup --------------------------------------------------------------------


@dataclass(frozen=True)
class Backup:
    folder: Path
    manifest: dict
    id_bytes: bytes
    data_key: bytes

    def role(self, name: str) -> dict:
        return next(r for r in self.manifest["roles"] if r["name"] == name)


def open_backup(share: Path, backup_id: str, key: Key) -> Backup:
    folder = share / "MASBackup" / backup_id
    try:
        raw = (folder / "manifest.json").read_bytes()
    except FileNotFoundError:
        raise FormatError(f"backup {backup_id} has no manifest") from None
    body = read_manifest(raw, backup_id)
    id_bytes = bytes.fromhex(backup_id.replace("-", ""))
    label = b"IBS1 data key " + id_bytes
    try:
        data_key = key.private_key.decrypt(
            base64.b64decode(body["keyWrap"]["wrappedKey"]),
            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label))
    except ValueError:
        if key.thumbprint != body["encryptionCertThumbprint"]:
            raise WrongCertificate(f"the backup needs the certificate {body['encryptionCertThumbprint']}; "
                                   f"the PFX holds {key.thumbprint}") from None
        raise FormatError("the wrapped key does not unwrap (altered)") from None
    if len(data_key) != 32:
        raise FormatError("the data key is not 32 bytes")
    unsigned = {k: v for k, v in body.items() if k != "mac"}
    tag = hmac.new(subkey(data_key, id_bytes, "manifest"),
                   b"IBS1 manifest\n" + canonical(unsigned).encode("ascii"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(tag, body["mac"]):
        raise FormatError("the manifest does not authenticate")
    # A thumbprint that differs under a valid MAC is a renewal that kept the key: it opens.
    return Backup(folder, body, id_bytes, data_key)


# --- A role: records, chunks, entry stream -----------------------------------------------

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _one_frame(payload: bytes, limit: int) -> bytes:
    if payload[:4] != ZSTD_MAGIC:
        raise FormatError("a codec-1 payload does not start with a zstd frame")
    d = zstandard.ZstdDecompressor().decompressobj()
    try:
        plain = d.decompress(payload)
    except zstandard.ZstdError as exc:
        raise FormatError(f"a zstd frame does not decompress: {exc}") from None
    if not d.eof or d.unused_data:
        raise FormatError("a codec-1 payload is not exactly one zstd frame")
    if len(plain) > limit:
        raise FormatError("a chunk is longer than chunkSize")
    return plain


def entry_stream(backup: Backup, name: str) -> bytes:
    role = backup.role(name)
    size = backup.manifest["chunkSize"]
    try:
        data = (backup.folder / role["file"]).read_bytes()
    except FileNotFoundError:
        raise FormatError(f"role {name}: the data file is missing") from None
    aead = AESGCM(subkey(backup.data_key, backup.id_bytes, f"role/{name}"))
    stream = bytearray()
    pos = index = 0
    while True:
        if pos + 8 > len(data):
            raise FormatError(f"role {name}: the file ends before its final chunk")
        header = data[pos : pos + 8]
        stored, codec, flags, reserved = struct.unpack(">IBBH", header)
        if codec not in (0, 1) or flags & ~1 or reserved or not 16 <= stored <= size + 16:
            raise FormatError(f"role {name}: chunk {index} has a bad header")
        sealed = data[pos + 8 : pos + 8 + stored]
        if len(sealed) != stored:
            raise FormatError(f"role {name}: the file is truncated")
        aad = (b"IBS1" + backup.id_bytes + struct.pack(">H", len(name)) + name.encode("ascii")
               + struct.pack(">Q", index) + header)
        try:
            payload = aead.decrypt(b"\0\0\0\0" + struct.pack(">Q", index), sealed, aad)
        except InvalidTag:
            raise FormatError(f"role {name}: chunk {index} does not authenticate") from None
        plain = _one_frame(payload, size) if codec == 1 else payload
        final = bool(flags & 1)
        if not 1 <= len(plain) <= size or (not final and len(plain) != size):
            raise FormatError(f"role {name}: chunk {index} has the wrong size")
        stream += plain
        pos += 8 + stored
        index += 1
        if final:
            break
    if pos != len(data):
        raise FormatError(f"role {name}: bytes follow the final chunk")
    figures = (index, len(stream), len(data), hashlib.sha256(data).hexdigest())
    if figures != (role["chunks"], role["plaintextBytes"], role["storedBytes"], role["sha256"]):
        raise FormatError(f"role {name}: the data file does not match the manifest's figures")
    return bytes(stream)


@dataclass(frozen=True)
class Item:
    kind: int  # 1 folder, 2 file, 3 symlink
    path: bytes
    mode: int
    mtime_ns: int
    data: bytes  # file contents or symlink target


def entries(stream: bytes) -> list[Item]:
    if stream[:8] != b"IBSENT1\n":
        raise FormatError("the entry stream has no magic")
    pos, items, folders, last = 8, [], set(), None
    while True:
        if pos >= len(stream):
            raise FormatError("the entry stream has no end record")
        if stream[pos] == 0:
            if len(stream) - pos != 9:
                raise FormatError("the end record is cut or followed by bytes")
            if struct.unpack(">Q", stream[pos + 1 :])[0] != len(items):
                raise FormatError("the end record's count is wrong")
            return items
        if pos + 23 > len(stream):
            raise FormatError("an entry header is cut")
        kind, n, mode, mtime, size = struct.unpack(">BHIqQ", stream[pos : pos + 23])
        path = stream[pos + 23 : pos + 23 + n]
        data = stream[pos + 23 + n : pos + 23 + n + (0 if kind == 1 else size)]
        if len(path) != n or len(data) != (0 if kind == 1 else size):
            raise FormatError("an entry is cut")
        pos += 23 + n + len(data)
        if kind not in (1, 2, 3) or mode > 0o7777 or (kind == 1 and size != 0):
            raise FormatError(f"entry {path!r} has a bad kind, mode or size")
        if not items:
            if path != b"" or kind != 1:
                raise FormatError("the first entry is not the role's folder")
        else:
            parts = path.split(b"/")
            if path == b"" or b"\0" in path or any(p in (b"", b".", b"..") for p in parts):
                raise FormatError(f"entry path {path!r} is not clean")
            if path.rpartition(b"/")[0] not in folders:
                raise FormatError(f"entry {path!r} does not follow its parent folder")
            if last is not None and parts <= last:
                raise FormatError(f"entry {path!r} is out of order (or repeated)")
            last = parts
        if kind == 3 and (not 1 <= size <= 4095 or b"\0" in data):
            raise FormatError(f"symlink {path!r} has a bad target")
        if kind == 1:
            folders.add(path)
        items.append(Item(kind, path, mode, mtime, data))


def checked_items(backup: Backup, name: str) -> list[Item]:
    """Every entry of role ``name``, after every check of the data file and the entry stream."""
    items = entries(entry_stream(backup, name))
    role = backup.role(name)
    if (len(items), sum(len(i.data) for i in items if i.kind == 2)) != (role["entries"], role["fileBytes"]):
        raise FormatError(f"role {name}: entries or fileBytes differ from the manifest")
    return items


def restore(backup: Backup, names: list[str], target: Path) -> None:
    """Check every role whole, then build each in a staging folder renamed to target/<name>."""
    checked = {name: checked_items(backup, name) for name in names}
    target.mkdir(parents=True, exist_ok=True)
    for name, items in checked.items():
        _build(items, target / f".format-reader-{name}")
        os.rename(target / f".format-reader-{name}", target / name)


def _build(items: list[Item], staging: Path) -> None:
    root = os.fsencode(staging)
    folders = []
    for item in items:
        path = os.path.join(root, item.path) if item.path else root
        if item.kind == 1:
            os.mkdir(path, 0o700)
            folders.append((path, item))
        elif item.kind == 2:
            with open(path, "xb") as f:
                f.write(item.data)
            os.chmod(path, item.mode)
            os.utime(path, ns=(item.mtime_ns, item.mtime_ns))
        else:
            os.symlink(item.data, path)
            os.utime(path, ns=(item.mtime_ns, item.mtime_ns), follow_symlinks=False)
    for path, item in reversed(folders):
        os.chmod(path, item.mode)
        os.utime(path, ns=(item.mtime_ns, item.mtime_ns))
