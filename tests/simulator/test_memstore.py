"""The simulated controller's store lives in memory; its files reach the disk when asked for."""

from __future__ import annotations

import copy
import json
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine.controller import Controller
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
