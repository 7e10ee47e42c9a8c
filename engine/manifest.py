"""The manifest: what a backup holds, and the wrapped key that opens it (docs/FORMAT.md).

It is JSON, readable without the PFX (so a backup can be listed and its files checked for
corruption with the share alone), and authenticated with HMAC-SHA256 under a key derived from
the data key (so verifying it needs the PFX). It holds no role data and no secret: the data
key appears only wrapped under the certificate's public key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import operator
import re
import uuid
from dataclasses import dataclass, field, fields
from typing import TypeVar

from ibs.engine import manifest_text
from ibs.engine.chunks import MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from ibs.engine.errors import IntegrityError
from ibs.engine.keys import hmac_sha256
from ibs.engine.manifest_text import MAC_PREFIX

V = TypeVar("V")

FORMAT_VERSION = 1
ROLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_THUMB = re.compile(r"^[0-9A-F]{40}$")
WRAPPED_KEY_BYTES = 256  # RSA-2048
MAX_FIGURE = 2**63 - 1  # so every reader can hold a figure in a signed 64-bit integer
# Version 1 is closed: a member not listed here is an integrity error, never ignored, so a
# newer writer's meaning cannot be silently dropped (docs/FORMAT.md, "Manifest").
_MEMBERS = frozenset({"backupId", "chunkSize", "cipher", "compression", "createdDateTime",
                      "encryptionCertThumbprint", "formatVersion", "info", "keyWrap", "mac",
                      "roles"})
_KEYWRAP_MEMBERS = frozenset({"algorithm", "wrappedKey"})
_ROLE_MEMBERS = frozenset({"name", "file", "plaintextBytes", "storedBytes", "chunks", "sha256",
                           "entries", "fileBytes"})


# Not frozen: a frozen __init__ costs three times a plain one's, and a simulated year writes
# some 7,000 role records (engine/entries.py's Entry). Nothing changes one once made.
@dataclass(slots=True)
class RoleRecord:
    name: str
    file: str  # relative to the backup folder
    plaintextBytes: int  # length of the role's entry stream
    storedBytes: int  # length of the role's data file
    chunks: int
    sha256: str  # of the data file as stored
    entries: int
    fileBytes: int  # sum of file contents in the role


_ROLE_FIELDS = tuple(f.name for f in fields(RoleRecord))
_ROLE_TYPES = (str, str, int, int, int, str, int, int)  # of those fields, in that order
# A record's values in its members' sorted order, as manifest_text takes them.
_sorted_role = operator.attrgetter(*sorted(_ROLE_FIELDS))
_sorted_member = operator.itemgetter(*sorted(_ROLE_FIELDS))


@dataclass(frozen=True, slots=True)
class Manifest:
    backupId: uuid.UUID
    createdDateTime: dt.datetime
    encryptionCertThumbprint: str
    wrappedKey: bytes
    chunkSize: int
    roles: tuple[RoleRecord, ...]
    info: dict[str, str] = field(default_factory=dict)  # stampVersion, deploymentID, ...
    formatVersion: int = FORMAT_VERSION

    def body(self) -> dict[str, object]:
        return {
            "formatVersion": self.formatVersion,
            "backupId": str(self.backupId),
            "createdDateTime": format_time(self.createdDateTime),
            "encryptionCertThumbprint": self.encryptionCertThumbprint,
            "keyWrap": {"algorithm": "RSA-OAEP-SHA256",
                        "wrappedKey": base64.b64encode(self.wrappedKey).decode("ascii")},
            "cipher": "AES-256-GCM",
            "compression": "zstd",
            "chunkSize": self.chunkSize,
            # Flat records of str and int: no deep copy needed (asdict was most of a save's cost).
            "roles": [{name: getattr(r, name) for name in _ROLE_FIELDS} for r in self.roles],
            "info": dict(sorted(self.info.items())),
        }

    def role(self, name: str) -> RoleRecord | None:
        return next((r for r in self.roles if r.name == name), None)

    def to_bytes(self, mac_key: bytes) -> bytes:
        values = manifest_text.encoded(
            str(self.backupId), self.chunkSize, format_time(self.createdDateTime),
            self.encryptionCertThumbprint, self.formatVersion, self.info,
            base64.b64encode(self.wrappedKey).decode("ascii"),
            [_sorted_role(r) for r in self.roles])
        if values is not None:
            data = manifest_text.signed(mac_key, values)
            _remember_canonical(data)
            return data
        body = self.body()
        body["mac"] = mac(mac_key, body)
        return file_form(body)


def file_form(body: dict[str, object]) -> bytes:
    """The one byte sequence a manifest file may have (so even whitespace cannot change).

    That sequence is ``json.dumps(body, indent=2, sort_keys=True)`` and a line break. Python's
    json encodes the indented form in pure Python, at ~0.5 ms a manifest: a body of exactly a
    manifest's members, of the types a writer gives, is written by manifest_text instead (the
    same text, from the C string encoder), and any other body by json.
    """
    values = _values_of(body)
    if values is None:
        return json.dumps(body, indent=2, sort_keys=True).encode("ascii") + b"\n"
    data = manifest_text.indented(values, body["mac"])  # type: ignore[arg-type]
    _remember_canonical(data)
    return data


def _values_of(body: dict[str, object]) -> manifest_text.Values | None:
    """``manifest_text.encoded`` of a body's members, or None unless the body has exactly a
    manifest's members, with the texts manifest_text writes where the format fixes them."""
    if type(body) is not dict or body.keys() != _MEMBERS or type(body["mac"]) is not str:
        return None
    wrap, roles, info = body["keyWrap"], body["roles"], body["info"]
    if (body["cipher"] != "AES-256-GCM" or body["compression"] != "zstd"
            or type(wrap) is not dict or wrap.keys() != _KEYWRAP_MEMBERS
            or wrap["algorithm"] != "RSA-OAEP-SHA256" or type(info) is not dict
            or type(roles) is not list
            or not all(type(r) is dict and r.keys() == _ROLE_MEMBERS for r in roles)):
        return None
    return manifest_text.encoded(body["backupId"], body["chunkSize"], body["createdDateTime"],
                                 body["encryptionCertThumbprint"], body["formatVersion"], info,
                                 wrap["wrappedKey"], [_sorted_member(r) for r in roles])


# Forms manifest_text wrote lately. They parse back (json.loads) to a body of the same members
# and types, whose form is the same bytes: so these bytes are canonical without checking again
# (a controller reads back, at the next prune, each manifest it has just written).
_CANONICAL: dict[bytes, None] = {}
_CANONICAL_KEEP = 32


def _remember_canonical(data: bytes) -> None:
    _CANONICAL[data] = None
    if len(_CANONICAL) > _CANONICAL_KEEP:
        del _CANONICAL[next(iter(_CANONICAL))]


def _is_canonical(body: dict[str, object], data: bytes) -> bool:
    return data in _CANONICAL or file_form(body) == data


def canonical(body: dict[str, object]) -> bytes:
    return _CANONICAL_JSON.encode(body).encode("ascii")


# ``json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``, the encoder
# made once rather than at every call.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def mac(key: bytes, body: dict[str, object]) -> str:
    return hmac_sha256(key, MAC_PREFIX + canonical(body)).hex()


_TIME_FORM = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"  # printf-style: twice an f-string's speed


def format_time(t: dt.datetime) -> str:
    """``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` in UTC by hand (strftime was most of its cost), four
    year digits always (parse_time wants them; glibc's %Y does not pad years below 1000)."""
    global _last_time
    u = t.astimezone(dt.UTC)  # ``t`` itself when in UTC already
    instant, text = _last_time
    if instant is u:
        return text
    text = _TIME_FORM % (u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond)
    if not u.fold and type(u) is dt.datetime:  # what parse_time gives for ``text``, exactly
        _last_time = (u, text)
    return text


# The instant format_time wrote last, and its text: a backup writes the instant it starts and
# reads it straight back, and writes the instant it ends twice (a datetime never changes).
_last_time: tuple[dt.datetime | None, str] = (None, "")


# The one spelling format_time writes (strptime alone would also take "2026-3-1T8:0:0.5Z"),
# read by hand: strptime costs ~30 us a call, and the simulator reads thousands of times.
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})Z")


def parse_time(s: str) -> dt.datetime:
    instant, text = _last_time
    if s == text and instant is not None:
        return instant
    m = _TIME.fullmatch(s) if isinstance(s, str) else None
    try:
        if m is None:
            raise ValueError
        year, month, day, hour, minute, second, micro = map(int, m.groups())
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=dt.UTC)
    except ValueError:
        raise IntegrityError(f"manifest time {s!r} is malformed") from None


class ParsedManifest:
    """A manifest read from the share: structurally valid, authenticated only by ``verify``."""

    def __init__(self, manifest: Manifest, body: dict[str, object], tag: str) -> None:
        self.manifest = manifest
        self._body = body
        self._tag = tag

    def verify(self, mac_key: bytes) -> Manifest:
        if not hmac.compare_digest(mac(mac_key, self._body), self._tag):
            raise IntegrityError(f"backup {self.manifest.backupId}: the manifest does not authenticate")
        return self.manifest


def _need(obj: dict[str, object], key: str, kind: type[V]) -> V:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise IntegrityError(f"manifest field {key!r} is missing or not a {kind.__name__}")
    if isinstance(value, int) and kind is int and not 0 <= value <= MAX_FIGURE:
        raise IntegrityError(f"manifest field {key!r} is out of range")
    return value


def _only(obj: dict[str, object], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise IntegrityError(f"manifest {where} has unknown members {unknown} (format version 1 has none)")


def _is_text(s: str) -> bool:
    """Unicode scalar values only: JSON lets a lone surrogate be escaped, the format does not."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse(data: bytes, expected_id: uuid.UUID | None = None) -> ParsedManifest:
    try:
        body = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise IntegrityError("manifest is not valid JSON") from None
    if not isinstance(body, dict):
        raise IntegrityError("manifest is not a JSON object")
    if not _is_canonical(body, data):
        raise IntegrityError("manifest is not in its canonical form (altered or truncated)")
    _only(body, _MEMBERS, "object")
    tag = _need(body, "mac", str)
    if not _HEX64.match(str(tag)):
        raise IntegrityError("manifest mac is not 64 lower-case hex digits")
    body = {k: v for k, v in body.items() if k != "mac"}
    version = _need(body, "formatVersion", int)
    if version != FORMAT_VERSION:
        raise IntegrityError(f"manifest format version {version} is not supported (expected {FORMAT_VERSION})")
    if body.get("cipher") != "AES-256-GCM" or body.get("compression") != "zstd":
        raise IntegrityError("manifest names an unknown cipher or compression")
    raw_id = str(_need(body, "backupId", str))
    try:
        backup_id = uuid.UUID(raw_id)
    except ValueError:
        raise IntegrityError("manifest backupId is not a GUID") from None
    if str(backup_id) != raw_id:  # uuid.UUID also takes braces, "urn:uuid:" and upper case
        raise IntegrityError("manifest backupId is not a GUID in lower-case 8-4-4-4-12 form")
    if expected_id is not None and backup_id != expected_id:
        raise IntegrityError(f"manifest belongs to backup {backup_id}, found in folder {expected_id}")
    thumb = str(_need(body, "encryptionCertThumbprint", str))
    if not _THUMB.match(thumb):
        raise IntegrityError("manifest thumbprint is malformed")
    wrap = _need(body, "keyWrap", dict)
    assert isinstance(wrap, dict)
    _only(wrap, _KEYWRAP_MEMBERS, "keyWrap")
    if wrap.get("algorithm") != "RSA-OAEP-SHA256":
        raise IntegrityError("manifest names an unknown key wrapping")
    raw_wrapped = str(_need(wrap, "wrappedKey", str))
    try:
        wrapped = base64.b64decode(raw_wrapped, validate=True)
    except ValueError:
        raise IntegrityError("manifest wrapped key is not base64") from None
    # One spelling (padded, unused bits zero) of exactly one RSA-2048 block.
    if len(wrapped) != WRAPPED_KEY_BYTES or base64.b64encode(wrapped).decode("ascii") != raw_wrapped:
        raise IntegrityError(f"manifest wrapped key is not {WRAPPED_KEY_BYTES} bytes in canonical base64")
    chunk_size = _need(body, "chunkSize", int)
    assert isinstance(chunk_size, int)
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise IntegrityError(f"manifest chunk size {chunk_size} is out of bounds")
    roles_raw = _need(body, "roles", list)
    assert isinstance(roles_raw, list)
    roles = []
    for raw in roles_raw:
        if not isinstance(raw, dict):
            raise IntegrityError("manifest role entry is not an object")
        _only(raw, _ROLE_MEMBERS, "role entry")
        values = [raw.get(name) for name in _ROLE_FIELDS]
        if all(type(v) is t and (t is str or 0 <= v <= MAX_FIGURE)  # type: ignore[operator]
               for v, t in zip(values, _ROLE_TYPES, strict=True)):
            # Every field with exactly the type and range _role_checked wants (json.loads makes
            # exactly str and int): the same record, without a call per field.
            role = RoleRecord(*values)  # type: ignore[arg-type]
        else:
            role = _role_checked(raw)  # names what is wrong
        if not ROLE_NAME.match(role.name) or role.file != role_file(role.name):
            raise IntegrityError(f"manifest role {role.name!r} is malformed")
        if not _HEX64.match(role.sha256) or min(role.plaintextBytes, role.storedBytes,
                                                 role.chunks, role.entries, role.fileBytes) < 0:
            raise IntegrityError(f"manifest role {role.name!r} has invalid figures")
        roles.append(role)
    if not roles:
        raise IntegrityError("manifest lists no role")
    # Role files share one folder, and SMB/NTFS names ignore case: "ab" and "AB" are one file.
    if len({r.name.lower() for r in roles}) != len(roles):
        raise IntegrityError("manifest lists a role twice (role names ignore case)")
    if [r.name for r in roles] != sorted(r.name for r in roles):
        raise IntegrityError("manifest roles are not sorted by name")
    info = _need(body, "info", dict)
    assert isinstance(info, dict)
    if not all(isinstance(v, str) and _is_text(k) and _is_text(v) for k, v in info.items()):
        raise IntegrityError("manifest info is malformed")
    manifest = Manifest(
        backupId=backup_id, createdDateTime=parse_time(str(_need(body, "createdDateTime", str))),
        encryptionCertThumbprint=thumb, wrappedKey=wrapped, chunkSize=chunk_size,
        roles=tuple(roles), info=dict(info),
    )
    return ParsedManifest(manifest, body, str(tag))


def _role_checked(raw: dict[str, object]) -> RoleRecord:
    try:
        return RoleRecord(
            name=str(_need(raw, "name", str)), file=str(_need(raw, "file", str)),
            plaintextBytes=int(_need(raw, "plaintextBytes", int)),
            storedBytes=int(_need(raw, "storedBytes", int)),
            chunks=int(_need(raw, "chunks", int)),
            sha256=str(_need(raw, "sha256", str)),
            entries=int(_need(raw, "entries", int)),
            fileBytes=int(_need(raw, "fileBytes", int)),
        )
    except TypeError:
        raise IntegrityError("manifest role entry has unknown fields") from None


def role_file(name: str) -> str:
    return f"roles/{name}.ibsr"
