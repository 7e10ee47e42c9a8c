"""The simulated controller's store lives in memory; its files reach the disk when asked for."""

from __future__ import annotations

import copy
import json
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine.controller import Controller
from ibs.engine.errors import JobSlotTaken
from ibs.engine.history import BackupRecord, History
from ibs.engine.store import Store
from ibs.simulator.memstore import MemoryStore


def _files(root: str) -> dict[str, object]:
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if name.endswith(".json"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    found[os.path.relpath(path, root)] = json.load(f)
    return found


def test_files_reach_the_disk_as_last_written_when_the_root_is_asked_for(tmp_path):
    store = MemoryStore(str(tmp_path / "s"))
    store.write_json("settings.json", {"a": 1})
    store.write_json("jobs/x.json", {"id": "x", "status": "Queued"})
    store.write_json("jobs/x.json", {"id": "x", "status": "Running"})
    assert not (tmp_path / "s" / "settings.json").exists()  # nothing written yet
    assert store.read_json("jobs/x.json") == {"id": "x", "status": "Running"}
    root = store.root
    assert _files(root) == {"settings.json": {"a": 1},
                            os.path.join("jobs", "x.json"): {"id": "x", "status": "Running"}}
    store.write_json("settings.json", {"a": 2})
    assert _files(store.root)["settings.json"] == {"a": 2}
    assert not [n for n in os.listdir(root) if n.endswith(".tmp")]


def test_a_folder_lists_files_in_memory_and_on_disk_once_each(tmp_path):
    store = MemoryStore(str(tmp_path / "s"))
    store.write_json("jobs/b.json", {"n": 1})
    store.flush()
    store.write_json("jobs/b.json", {"n": 2})  # newer in memory than on disk
    store.write_json("jobs/a.json", {"n": 3})
    store.write_json("jobs/.generation", "t")  # hidden, as in a real store
    store.write_json("alerts.json", [])  # another folder
    listed = store.named_json("jobs")
    assert [(os.path.basename(p), v) for p, v in listed] == [("a.json", {"n": 3}),
                                                            ("b.json", {"n": 2})]


def test_a_restarted_controller_finds_the_history_its_predecessor_kept_in_memory(make_hub):
    hub = make_hub(nodes=4)
    hub.run(2)
    before = [(r.id, r.status) for r in hub.ctl.backups()]
    assert len(before) == 3
    fresh = Controller(hub.ctl.store, hub.clock, share_factory=hub.ctl.share_factory,
                       source_factory=hub.ctl.source_factory)
    assert [(r.id, r.status) for r in fresh.backups()] == before
    # What the store would hold on disk is the same history.
    on_disk = _files(hub.ctl.store.root)
    assert sorted((v["id"], v["status"]) for k, v in on_disk.items()
                  if k.startswith("jobs")) == sorted(before)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=20)


@settings(max_examples=60, deadline=None)
@given(first=_JSON, second=_JSON)
def test_a_value_is_kept_as_it_was_when_written_and_reads_as_its_json(tmp_path_factory, first,
                                                                     second):
    # The store keeps values and makes their text later: what it reads back and flushes must
    # still be the value as written, whatever the caller did to it afterwards.
    root = tmp_path_factory.mktemp("s")
    store = MemoryStore(str(root / "m"))
    plain = Store(str(root / "p"), durable=False, private=True)
    for name, value in (("a.json", first), ("jobs/b.json", second)):
        kept = copy.deepcopy(value)
        store.write_json(name, value)
        plain.write_json(name, kept)
        if isinstance(value, list):
            value.append("changed")
        elif isinstance(value, dict):
            value["changed"] = [1]
    assert store.read_json("a.json") == plain.read_json("a.json")
    assert store.texts() == plain._written
    store.flush()
    for name in ("a.json", "jobs/b.json"):
        assert (root / "m" / name).read_bytes() == (root / "p" / name).read_bytes()


_CHANGES = st.lists(st.sampled_from(["status", "warning", "role", "roles", "error", "progress"]),
                    min_size=1, max_size=6)


@settings(max_examples=40, deadline=None)
@given(changes=_CHANGES)
def test_a_saved_record_is_kept_as_saved_whatever_its_job_does_to_it_next(tmp_path_factory,
                                                                          changes):
    # The history hands the store the very copy it caches rather than a snapshot of its own: a
    # job changing its record after a save must reach neither the file nor the cache.
    store = MemoryStore(str(tmp_path_factory.mktemp("s")))
    history = History(store)
    history.all()  # loaded, so that saves keep the cache
    record = BackupRecord(id="a", status="Running", trigger="Scheduled",
                          createdDateTime="2026-01-01T00:00:00.000000Z",
                          roleStatus=[{"roleName": "R", "status": "Succeeded"}], warnings=["w"],
                          error={"category": "c", "message": "m"},
                          progress={"role": "R", "doneBytes": 1, "totalBytes": 2})
    history.save(record)
    saved = copy.deepcopy(vars(record))
    for change in changes:
        if change == "status":
            record.status = "Succeeded"
        elif change == "warning":
            record.warnings.append("later")
        elif change == "role":
            record.roleStatus[0]["status"] = "Failed"
        elif change == "roles":
            record.roleStatus.append({"roleName": "S", "status": "Failed"})
        elif change == "error":
            assert record.error is not None
            record.error["message"] = "later"
        else:
            assert record.progress is not None
            record.progress["doneBytes"] = 2
    cached = history.get("a")
    assert cached is not None and vars(cached) == saved
    store.flush()
    with open(os.path.join(store.root, "jobs", "a.json"), encoding="utf-8") as f:
        assert json.load(f) == saved
    assert store.read_json("jobs/a.json") == saved


@settings(max_examples=40, deadline=None)
@given(value=_JSON)
def test_a_value_handed_over_reads_and_flushes_as_a_copied_one(tmp_path_factory, value):
    root = tmp_path_factory.mktemp("s")
    handed, copied = MemoryStore(str(root / "h")), MemoryStore(str(root / "c"))
    handed.write_json("jobs/a.json", value, owned=True)
    copied.write_json("jobs/a.json", copy.deepcopy(value))
    assert handed.named_json("jobs") == [(handed.path("jobs", "a.json"), value)]
    assert handed.texts() == copied.texts()
    assert handed.read_json("jobs/a.json", "absent") == copied.read_json("jobs/a.json", "absent")
    # Read before anything turns it into text: the handed value itself is what read_json meets.
    fresh = MemoryStore(str(root / "f"))
    fresh.write_json("jobs/a.json", value, owned=True)
    assert fresh.read_json("jobs/a.json", "absent") == copied.read_json("jobs/a.json", "absent")


@given(st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=12))
def test_a_memory_stores_job_slots_take_turns_as_a_real_stores_do(tmp_path_factory, steps):
    # The memory store holds its slot in memory, not as an flock: the same holder, refusals
    # and releases, whichever of its slots asks.
    root = tmp_path_factory.mktemp("slots")
    real_store, memory_store = Store(str(root / "r")), MemoryStore(str(root / "m"))
    real = [real_store.job_slot() for _ in range(3)]
    memory = [memory_store.job_slot() for _ in range(3)]
    try:
        for i, take in steps:
            outcomes = []
            for slot in (real[i], memory[i]):
                if take:
                    try:
                        slot.acquire()
                        outcomes.append("taken")
                    except JobSlotTaken as exc:
                        outcomes.append(str(exc))
                else:
                    slot.release()
                    outcomes.append("released")
            assert outcomes[0] == outcomes[1]
            assert [s.held for s in real] == [s.held for s in memory]
    finally:
        for slot in real:
            slot.release()
