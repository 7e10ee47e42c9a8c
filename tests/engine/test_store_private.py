"""A private store (a simulation's scratch state) answers reads from memory, files still written."""

from __future__ import annotations

import json

from ibs.engine.store import Store


def test_a_private_store_reads_what_it_wrote_and_keeps_the_files(tmp_path):
    store = Store(str(tmp_path / "s"), durable=False, private=True)
    store.write_json("settings.json", {"path": r"\\h\s", "n": [1, 2]})
    on_disk = json.loads((tmp_path / "s" / "settings.json").read_text())
    assert on_disk == {"path": r"\\h\s", "n": [1, 2]}  # a scan of the folder sees it
    (tmp_path / "s" / "settings.json").write_text('{"path": "changed behind its back"}')
    assert store.read_json("settings.json") == {"path": r"\\h\s", "n": [1, 2]}
    first = store.read_json("settings.json")
    first["n"].append(3)  # a caller's change never reaches the next read
    assert store.read_json("settings.json")["n"] == [1, 2]


def test_a_shared_store_always_reads_the_file(tmp_path):
    store = Store(str(tmp_path / "s"))
    store.write_json("settings.json", {"a": 1})
    (tmp_path / "s" / "settings.json").write_text('{"a": 2}')
    assert store.read_json("settings.json") == {"a": 2}


def test_revisions_change_with_each_write_of_a_file_only_in_a_private_store(tmp_path):
    private = Store(str(tmp_path / "p"), durable=False, private=True)
    assert private.revision("settings.json") == 0
    private.write_json("settings.json", {"a": 1})
    private.write_json("alerts.json", [])
    assert private.revision("settings.json") == 1
    private.write_json("settings.json", {"a": 2})
    assert private.revision("settings.json") == 2
    assert Store(str(tmp_path / "s")).revision("settings.json") is None
