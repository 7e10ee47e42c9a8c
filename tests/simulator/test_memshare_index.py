"""The simulated share's indexes (entries per folder, bytes used) agree with a scan of every path.

The engine decides what to prune and whether a backup fits from these two answers, so an index
that drifts from the files would change what a simulation reports.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ibs.engine.errors import IbsError
from ibs.simulator.memshare import MemoryShare, ShareStorage


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


class PlainShare:
    """The share's file operations as first written: a dict of files and a set of dirs, every
    operation a scan. The indexed share must leave the same files and dirs after any script."""

    def __init__(self, root: str, capacity: int, filler: int, dirs: set[str]) -> None:
        self.root, self.capacity, self.filler = root, capacity, filler
        self.files: dict[str, bytearray] = {}
        self.dirs = set(dirs)

    def full(self, path: str) -> str:
        return f"{self.root}/{path}" if self.root else path

    def makedirs(self, path: str) -> None:
        parts = self.full(path).split("/")
        self.dirs |= {"/".join(parts[:i]) for i in range(1, len(parts) + 1)}

    def write(self, path: str, data: bytes) -> None:
        full = self.full(path)
        if full.rpartition("/")[0] not in self.dirs:
            return
        self.files[full] = bytearray()
        for _ in range(2):
            used = sum(map(len, self.files.values())) + self.filler
            if used + len(data) > self.capacity:
                self.files[full] += data[: max(0, self.capacity - used)]
                return
            self.files[full] += data

    def remove(self, path: str) -> None:
        self.files.pop(self.full(path), None)

    def rename(self, src: str, dst: str) -> None:
        s, d = self.full(src), self.full(dst)
        if d in self.files or d in self.dirs:
            return
        if s in self.files:
            self.files[d] = self.files.pop(s)
            return
        if s not in self.dirs:
            return
        for p in [p for p in self.files if p.startswith(s + "/")]:
            self.files[d + p[len(s):]] = self.files.pop(p)
        for p in [p for p in self.dirs if p == s or p.startswith(s + "/")]:
            self.dirs.discard(p)
            self.dirs.add(d + p[len(s):])

    def rmtree(self, path: str) -> None:
        full = self.full(path)
        self.files = {p: b for p, b in self.files.items() if not p.startswith(full + "/")}
        self.dirs = {p for p in self.dirs if p != full and not p.startswith(full + "/")}


@settings(max_examples=300, deadline=None)
@given(st.lists(ops, max_size=40), st.integers(0, 200), st.sampled_from(["", "backup/stamp1"]))
def test_the_indexes_agree_with_a_scan_after_any_operations(script, capacity, root):
    storage = ShareStorage(capacity)
    storage.filler = 7
    for part in ("backup", "backup/stamp1"):
        storage.add_dir(part)
    share = MemoryShare(storage, root, "\\\\server\\share", lambda op: None, lambda: True)
    plain = PlainShare(root, capacity, storage.filler, storage.dirs)
    for op, *args in script:
        if op == "write" and "/" in args[0]:
            plain.makedirs(args[0].rpartition("/")[0])
        getattr(plain, op)(*args)
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
        assert storage.files == plain.files and storage.dirs == plain.dirs
        for folder in sorted(storage.dirs):
            rel = folder[len(root) + 1:] if root and folder.startswith(root + "/") else None
            if rel:
                assert share.listdir(rel) == scanned_entries(storage, folder)


odd_paths = st.lists(st.sampled_from(["", "a", "b", "a/b"]), min_size=1, max_size=4).map("/".join)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(["dir+", "dir-", "file+", "file-", "move", "rmtree"]),
                          odd_paths, odd_paths), max_size=30))
# A name under an empty first part is listed at the top as "": the search seldom meets one.
@example([("dir+", "/a", ""), ("file+", "/b", ""), ("move", "/a", "/b/a"), ("rmtree", "/b", "")])
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


def test_a_backup_sized_folder_moves_and_goes_whole():
    storage = ShareStorage(10**6)
    storage.add_dir("r")
    share = MemoryShare(storage, "r", "share", lambda op: None, lambda: True)
    share.makedirs("B/.partial-1/roles")
    for i in range(12):
        with share.create(f"B/.partial-1/roles/R{i}.ibsr") as f:
            f.write(bytes([i]) * (i + 1))
    share.rename("B/.partial-1", "B/guid")
    assert share.listdir("B") == ["guid"] and len(share.listdir("B/guid/roles")) == 12
    assert bytes(storage.files["r/B/guid/roles/R11.ibsr"]) == bytes([11]) * 12
    check(storage)
    share.rmtree("B/guid")
    assert share.listdir("B") == [] and storage.used == 0 and "r/B/guid" not in storage.dirs
    check(storage)


def test_a_file_named_as_a_moved_or_removed_folder_stays_listed():
    # A path can be a file and a folder at once; moving or removing the folder leaves the file.
    storage = ShareStorage(10**6)
    for folder in ("a", "c"):
        storage.add_dir(folder)
        storage.put_file(folder, bytearray(b"1"))
        storage.put_file(f"{folder}/x", bytearray(b"22"))
    storage.move_tree("a", "b")
    assert storage.entries("") == ["a", "b", "c"] and storage.entries("b") == ["x"]
    check(storage)
    storage.remove_tree("c")
    assert storage.entries("") == ["a", "b", "c"] and storage.entries("c") == []
    check(storage)
