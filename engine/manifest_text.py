"""A manifest's two JSON texts, written straight from its values: the one writer of both.

docs/FORMAT.md fixes both: the MAC covers ``json.dumps(body, sort_keys=True,
separators=(",", ":"))`` and the file is ``json.dumps(body, indent=2, sort_keys=True)``. The
body's members are fixed too, so the values are set into the two shapes by %-formatting, rather
than a body of dicts being made and encoded twice: a third of the cost, and a simulated year
writes 729 manifests. A manifest's texts are looked at together once: json writes each as it
is between quotes unless one holds a character it escapes, and only then is each escaped. A
new manifest's texts come from its values (``Manifest.to_bytes``), a body's file form from its
members (``manifest.file_form``); ``encoded`` answers None when a value is not of the type a
writer gives it, and the caller then encodes the body with json itself.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii as _s
from typing import Any

from ibs.engine.keys import hmac_sha256

MAC_PREFIX = b"IBS1 manifest\n"  # before the compact text the MAC covers

# A role record's members in sorted order; the values come in this order. A text member is
# quoted here: what is set in is its JSON string's contents (``_contents``).
_ROLE_COMPACT = ('{"chunks":%d,"entries":%d,"file":"%s","fileBytes":%d,"name":"%s",'
                 '"plaintextBytes":%d,"sha256":"%s","storedBytes":%d}')
_ROLE_INDENTED = ('    {\n      "chunks": %d,\n      "entries": %d,\n      "file": "%s",\n'
                  '      "fileBytes": %d,\n      "name": "%s",\n      "plaintextBytes": %d,\n'
                  '      "sha256": "%s",\n      "storedBytes": %d\n    }')
_COMPACT = ('{"backupId":"%s","chunkSize":%d,"cipher":"AES-256-GCM","compression":"zstd",'
            '"createdDateTime":"%s","encryptionCertThumbprint":"%s","formatVersion":%d,"info":%s,'
            '"keyWrap":{"algorithm":"RSA-OAEP-SHA256","wrappedKey":"%s"},"roles":[%s]}')
_INDENTED = ('{\n  "backupId": "%s",\n  "chunkSize": %d,\n  "cipher": "AES-256-GCM",\n'
             '  "compression": "zstd",\n  "createdDateTime": "%s",\n'
             '  "encryptionCertThumbprint": "%s",\n  "formatVersion": %d,\n  "info": %s,\n'
             '  "keyWrap": {\n    "algorithm": "RSA-OAEP-SHA256",\n    "wrappedKey": "%s"\n  },\n'
             '  "mac": "%s",\n  "roles": %s\n}\n')

# What a writer gives; a value of another type is looked for all the same (a dataclass does not
# check its fields' types, and a manifest read back may hold anything).
Role = tuple[Any, ...]
# The head's values, the info's pairs, the wrapped key, the number of roles, and their values
# one after another: texts as their JSON strings' contents.
Values = tuple[tuple[str, int, str, str, int], list[tuple[str, str]], str, int, tuple[Any, ...]]


def encoded(backup_id: Any, chunk_size: Any, created: Any, thumbprint: Any, version: Any,
            info: Mapping[Any, Any], wrapped_key: Any, roles: list[Role]) -> Values | None:
    """The values for ``compact`` and ``indented``; None for a value of another type than a
    writer gives (str, or int for a figure: json writes a bool, which is an int too, as
    ``true``). ``roles`` holds each record's values in its members' sorted order
    (``_ROLE_COMPACT``)."""
    if not (type(backup_id) is str and type(chunk_size) is int and type(created) is str
            and type(thumbprint) is str and type(version) is int and type(wrapped_key) is str):
        return None
    if not all(type(k) is str and type(v) is str for k, v in info.items()):
        return None
    flat: list[Any] = []
    for c, e, f, fb, n, p, h, s in roles:
        if not (type(c) is int and type(e) is int and type(f) is str and type(fb) is int
                and type(n) is str and type(p) is int and type(h) is str and type(s) is int):
            return None
        flat += (c, e, f, fb, n, p, h, s)
    head = (backup_id, chunk_size, created, thumbprint, version)
    pairs = sorted(info.items())
    texts = [backup_id, created, thumbprint, wrapped_key, *info, *info.values(), *flat[2::8],
             *flat[4::8], *flat[6::8]]
    if not _plain("".join(texts)):  # a rare text json escapes: each is escaped
        head = (_contents(backup_id), chunk_size, _contents(created), _contents(thumbprint),
                version)
        pairs = [(_contents(k), _contents(v)) for k, v in pairs]
        wrapped_key = _contents(wrapped_key)
        flat = [_contents(v) if type(v) is str else v for v in flat]
    return head, pairs, wrapped_key, len(roles), tuple(flat)


def _plain(text: str) -> bool:
    """Whether json writes ``text`` as it is between its quotes: printable ASCII with no quote
    or backslash. One look at a manifest's texts together costs a third of the C encoder's
    pass over each (most of a manifest's writing was spent there), and a byte table is
    cheaper still than ``str.isprintable``."""
    return text.isascii() and b"!" not in text.encode("ascii").translate(_PLAIN_BYTES)


# Each byte json writes as itself in a string as "a", any other as "!".
_PLAIN_BYTES = bytes(0x61 if 0x20 <= b < 0x7F and b not in b'"\\' else 0x21 for b in range(256))


def _contents(text: str) -> str:
    """What json writes between ``text``'s quotes."""
    return text if _plain(text) else _s(text)[1:-1]


@functools.lru_cache(maxsize=8)  # a hub has one number of roles
def _roles_forms(count: int) -> tuple[str, str]:
    """The compact and indented forms of ``count`` role records, as one template each."""
    return ",".join([_ROLE_COMPACT] * count), ",\n".join([_ROLE_INDENTED] * count)


def compact(values: Values) -> str:
    """``json.dumps(body, sort_keys=True, separators=(",", ":"))``: what the MAC covers."""
    head, pairs, key, count, roles = values
    return _COMPACT % (*head, "{" + ",".join([f'"{k}":"{v}"' for k, v in pairs]) + "}", key,
                       _roles_forms(count)[0] % roles)


def indented(values: Values, tag: str) -> bytes:
    """``json.dumps(body, indent=2, sort_keys=True)`` and a line break: the manifest file, with
    ``tag`` its MAC."""
    head, pairs, key, count, roles = values
    info_text = ("{\n" + ",\n".join([f'    "{k}": "{v}"' for k, v in pairs]) + "\n  }"
                 if pairs else "{}")
    roles_text = "[\n" + _roles_forms(count)[1] % roles + "\n  ]" if count else "[]"
    return (_INDENTED % (*head, info_text, key, _contents(tag), roles_text)).encode("ascii")


def signed(mac_key: bytes, values: Values) -> bytes:
    """The manifest file's bytes, its MAC included."""
    tag = hmac_sha256(mac_key, MAC_PREFIX + compact(values).encode("ascii")).hex()
    return indented(values, tag)
