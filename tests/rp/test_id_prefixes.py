"""Backup ids on the REST API as people type them (issue 17, point 8): the whole id or a unique
start of it, as the CLI takes, on the two routes that name a backup. The answer names the whole
id; an ambiguous start is one line naming the candidates (400), an unknown one a 404. The
published contract is unchanged: the same routes, status codes and bodies."""

from __future__ import annotations

import base64
import uuid

from tests.rp.conftest import LOC, Rp, V

Q = {"api-version": V}
def test_a_unique_start_gets_the_whole_backup(rp: Rp, three_backups):
    three = three_backups
    for given in ("0a1b2", "0A1B2C3D", "7f", three[2].upper()):
        r = rp.client.get(f"{LOC}/backups/{given}", params=Q)
        assert r.status_code == 200, (given, r.text)
        whole = three[0] if given.lower().startswith("0a1b") else three[2]
        assert r.json()["name"] == f"local/{whole}"
        assert r.json()["id"].endswith(f"/backupLocations/local/backups/{whole}")


def test_an_ambiguous_start_is_one_line_naming_the_candidates(rp: Rp, three_backups):
    three = three_backups
    r = rp.client.get(f"{LOC}/backups/0a1b", params=Q)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "AmbiguousBackupId"
    assert error["message"] == (f"0a1b is the start of 2 backup ids ({three[0]}, {three[1]}); "
                                "give more characters")


def test_an_unknown_start_or_id_is_still_404(rp: Rp, three_backups):
    for given, says in (("ff", "no backup id starts with ff"),
                        (str(uuid.UUID(int=5)), f"no backup with id {uuid.UUID(int=5)}"),
                        ("not-a-guid", "is not a backup id")):
        r = rp.client.get(f"{LOC}/backups/{given}", params=Q)
        assert r.status_code == 404, given
        assert r.json()["error"]["code"] == "NotFound"
        assert says in r.json()["error"]["message"]
        assert "\n" not in r.json()["error"]["message"]


def test_restore_takes_a_unique_start_and_restores_the_whole_id(rp: Rp, three_backups,
                                                                cert_pair):
    three = three_backups
    body = {"decryptionCertBase64": base64.b64encode(cert_pair.pfx).decode(),
            "decryptionCertPassword": cert_pair.password}
    r = rp.wait(rp.client.post(f"{LOC}/backups/7f0/restore", params=Q, json=body))
    assert r.status_code == 200, r.text
    assert r.json()["backupId"] == three[2]
    assert r.json()["target"] == str(rp.tmp / "restores" / f"{three[2]}-1")
    r = rp.client.post(f"{LOC}/backups/0a1b/restore", params=Q, json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "AmbiguousBackupId"
    assert not (rp.tmp / "restores" / f"{three[0]}-1").exists()
