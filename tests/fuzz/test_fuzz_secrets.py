"""The fuzzer's incremental secret search (scenarios/fuzz_secrets.py) finds what a full search
finds: a secret in a new log entry, a store file, a new share file, or appended to a share file
already searched, across its old end."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.scenarios.fuzz_secrets import SecretWatch
from ibs.simulator.hub import Hub, HubConfig
from ibs.simulator.profiles import HubProfile

SECRET = b"s3cret-pa55word-xyz"


def _hub() -> Hub:
    return Hub(HubConfig(HubProfile(nodes=4), seed=2))


def test_a_clean_hub_has_no_leak_and_each_place_is_named():
    with _hub() as hub:
        watch = SecretWatch()
        hub.run_for(86400)
        assert watch.leak(hub, [SECRET]) is None
        hub.log.add(0, "oops", note=SECRET.decode())
        assert watch.leak(hub, [SECRET]) == "the event log"
    with _hub() as hub:
        watch = SecretWatch()
        assert watch.leak(hub, [SECRET]) is None
        hub.ctl.store.write_json("extra.json", {"x": SECRET.decode()})
        assert watch.leak(hub, [SECRET]) == "the store"


@settings(max_examples=30, deadline=None)
@given(split=st.integers(0, len(SECRET)), before=st.binary(max_size=64))
def test_a_secret_appended_across_a_searched_end_is_found(split, before):
    with _hub() as hub:
        watch = SecretWatch()
        path = "backup/stamp1/MASBackup/x/roles/CA.ibsr"
        hub.storage.put_file(path, bytearray(before + SECRET[:split]))
        if split == len(SECRET):
            assert watch.leak(hub, [SECRET]) == "the share"
            return  # found: the fuzzer stops there
        assert watch.leak(hub, [SECRET]) is None
        assert hub.storage.append_within(path, SECRET[split:] + b"tail")
        assert watch.leak(hub, [SECRET]) == "the share"
