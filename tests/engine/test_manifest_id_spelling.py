"""A manifest's backupId has one spelling, the lower-case 8-4-4-4-12 GUID: every other form
uuid.UUID would take is refused, even under a valid MAC (a surviving mutant let braces and
"urn:uuid:" through)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from ibs.engine.errors import IntegrityError
from ibs.engine.manifest import Manifest, RoleRecord, file_form, mac, parse

KEY = b"m" * 32
ID = uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100")


def _spelled(raw_id: str) -> bytes:
    m = Manifest(backupId=ID, createdDateTime=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                 encryptionCertThumbprint="A" * 40, wrappedKey=b"\x01" * 256, chunkSize=4096,
                 roles=(RoleRecord(name="CA", file="roles/CA.ibsr", plaintextBytes=100,
                                   storedBytes=200, chunks=1, sha256="ab" * 32, entries=3,
                                   fileBytes=50),))
    body = json.loads(m.to_bytes(KEY))
    del body["mac"]
    body["backupId"] = raw_id
    return file_form(dict(body, mac=mac(KEY, body)))


def test_the_one_spelling_is_read():
    assert parse(_spelled(str(ID)), ID).verify(KEY).backupId == ID


@pytest.mark.parametrize("raw_id", [
    "{" + str(ID) + "}", "urn:uuid:" + str(ID), str(ID).upper(), ID.hex, " " + str(ID),
])
def test_other_spellings_of_the_same_guid_are_refused(raw_id):
    with pytest.raises(IntegrityError, match="lower-case 8-4-4-4-12|not a GUID"):
        parse(_spelled(raw_id))
