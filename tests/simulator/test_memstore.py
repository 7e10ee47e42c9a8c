"""The simulated controller's store lives in memory; its files reach the disk when asked for."""

from __future__ import annotations

import json
import os

from ibs.engine.controller import Controller
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
