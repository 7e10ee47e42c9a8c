"""The simulated share's indexes (entries per folder, bytes used) agree with a scan of every path.

The engine decides what to prune and whether a backup fits from these two answers, so an index
that drifts from the files would change what a simulation reports.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import IbsError
from simulator.memshare import MemoryShare, ShareStorage


def scanned_entries(storage: ShareStorage, folder: str) -> list[str]:
    """The listing as the share first computed it: every path under the folder, first part."""
    prefix = f"{folder}/" if folder else ""
    return sorted({p[len(prefix):].split("/", 1)[0]
                   for p in (*storage.files, *storage.dirs) if p.startswith(prefix) and p != folder})


def folders(storage: ShareStorage) -> set[str]:
    out = {""}
    for p in (*storage.files, *storage.dirs):
        parts = p.split("/")
        out.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def check(storage: ShareStorage) -> None:
    # Folders the index still knows but no path is under must show up as a difference too.
    for folder in folders(storage) | set(storage._entries):
        assert storage.entries(folder) == scanned_entries(storage, folder), folder
    assert storage.used == sum(map(len, storage.files.values())) + storage.filler


# Few names, so that scripts often write into a folder and then rename or remove it.
names = st.sampled_from(["a", "b", ".partial-x"])
paths = st.lists(names, min_size=1, max_size=3).map("/".join)
ops = st.one_of(
    st.tuples(st.just("makedirs"), paths),
    st.tuples(st.just("write"), paths, st.binary(max_size=40)),
    st.tuples(st.just("remove"), paths),
    st.tuples(st.just("rename"), paths, paths),
    st.tuples(st.just("rmtree"), paths),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ops, max_size=40), st.integers(0, 200), st.sampled_from(["", "backup/stamp1"]))
def test_the_indexes_agree_with_a_scan_after_any_operations(script, capacity, root):
    storage = ShareStorage(capacity)
    storage.filler = 7
    for part in ("backup", "backup/stamp1"):
        storage.add_dir(part)
    share = MemoryShare(storage, root, "\\\\server\\share", lambda op: None, lambda: True)
    for op, *args in script:
        try:
            if op == "makedirs":
                share.makedirs(args[0])
            elif op == "write":
                if "/" in args[0]:
                    share.makedirs(args[0].rpartition("/")[0])
                with share.create(args[0]) as f:
                    f.write(args[1])
                    f.write(args[1])
            elif op == "remove":
                share.remove(args[0])
            elif op == "rename":
                share.rename(args[0], args[1])
            else:
                share.rmtree(args[0])
        except IbsError:
            pass  # a refused operation (missing folder, disk full) must leave them agreeing too
        check(storage)
        for folder in sorted(storage.dirs):
            rel = folder[len(root) + 1:] if root and folder.startswith(root + "/") else None
            if rel:
                assert share.listdir(rel) == scanned_entries(storage, folder)


odd_paths = st.lists(st.sampled_from(["", "a", "b", "a/b"]), min_size=1, max_size=4).map("/".join)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(["dir+", "dir-", "file+", "file-", "move", "rmtree"]),
                          odd_paths, odd_paths), max_size=30))
def test_the_entries_index_holds_for_paths_with_empty_parts(script):
    # The engine never names such paths; the index still answers as the scan would.
    storage = ShareStorage(10**6)
    for op, path, other in script:
        if op == "dir+":
            storage.add_dir(path)
        elif op == "dir-":
            storage.discard_dir(path)
        elif op == "move":
            if path in storage.dirs and other not in storage.dirs and other not in storage.files:
                storage.move_tree(path, other)
        elif op == "rmtree":
            storage.remove_tree(path)
        elif op == "file+":
            storage.put_file(path, bytearray(len(path)))
        else:
            storage.pop_file(path)
        check(storage)


def test_a_full_share_keeps_what_fitted_and_counts_it():
    storage = ShareStorage(10)
    storage.add_dir("r")
    share = MemoryShare(storage, "r", "share", lambda op: None, lambda: True)
    f = share.create("x")
    f.write(b"123456")
    with pytest.raises(IbsError, match="disk full"):
        f.write(b"abcdef")
    assert bytes(storage.files["r/x"]) == b"123456abcd"
    assert storage.used == 10 and share.free_space() == 0


def test_moving_a_folder_onto_paths_left_without_their_folder_keeps_both():
    storage = ShareStorage(10**6)
    storage.put_file("x/old", bytearray(b"1"))  # its folder x is not in dirs (a file rename made it)
    storage.add_dir("a")
    storage.put_file("a/new", bytearray(b"22"))
    storage.move_tree("a", "x")
    assert storage.entries("x") == ["new", "old"] and storage.entries("") == ["x"]
    check(storage)
