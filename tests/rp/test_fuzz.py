"""Whatever arrives, the API answers an ARM error or success, never a 500 (h11's invariant:
parse, or raise our own error)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibs.engine.rp.api import Api
from ibs.engine.rp.app import handle
from ibs.engine.rp.auth import TokenCheck, digest
from tests.rp.conftest import BASE, LOC, TOKEN

PATHS = [LOC, f"{LOC}/createBackup", f"{LOC}/pruneExternalStore", f"{LOC}/backups",
         f"{LOC}/backups/00000000-0000-0000-0000-000000000000/restore",
         f"{BASE}/backupLocations", f"{BASE}/operations", f"{LOC}/alerts", "/x", LOC + "/"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["properties", "externalStoreDefault", "path", "backupFrequencyInHours",
                         "backupRetentionPeriodInDays", "isBackupSchedulerEnabled", "sources",
                         "userName", "password", "encryptionCertBase64", "operationType",
                         "roleName", "decryptionCertBase64", "decryptionCertPassword", "x"]),
        kids, max_size=5),
    max_leaves=12)
bodies = st.one_of(st.binary(max_size=64), json_values.map(lambda v: json.dumps(v).encode()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=st.sampled_from(["GET", "PUT", "PATCH", "POST", "DELETE", "HEAD"]),
       path=st.sampled_from(PATHS),
       version=st.sampled_from(["2018-09-01", "2021-09-01", "", "bogus"]),
       body=bodies)
def test_any_request_gets_a_well_formed_answer(tmp_path_factory, method, path, version, body):
    api = _api(tmp_path_factory)
    r = handle(api, method, f"{path}?api-version={version}", {"Authorization": f"Bearer {TOKEN}"}, body)
    assert r.status in (200, 202, 400, 404, 405, 409, 415), (r.status, r.content)
    if r.status >= 400:
        assert set(r.body["error"]) == {"code", "message"}
    api.operations.join(30)


_APIS: dict[str, Api] = {}


def _api(factory) -> Api:
    if "api" not in _APIS:
        _APIS["api"] = Api(str(factory.mktemp("fuzz") / "store"), TokenCheck(digest(TOKEN)))
    return _APIS["api"]
