"""Concurrent writers of one store: threads of a process (the REST provider) and separate
processes (the CLI beside the daemon). Every file stays parseable and no update is lost."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from pathlib import Path

from ibs.engine.clock import ManualClock
from ibs.engine.controller import Controller
from ibs.engine.rp.api import Api
from ibs.engine.rp.app import handle
from ibs.engine.rp.auth import TokenCheck, digest
from ibs.engine.store import Store
from tests.engine.conftest import T0

ROUNDS = 40  # changes per writer


def _changes(tmp: Path) -> dict[str, list[dict]]:
    """Per writer, the changes it makes in turn: each writer owns one setting, so after all
    of them have finished every setting must hold its writer's last value."""
    folders = [tmp / f"dir{i}" for i in range(3)]
    for f in folders:
        f.mkdir(exist_ok=True)
    n = range(ROUNDS)
    return {
        "username": [{"username": "u" * (1 + i % 7) + str(i)} for i in n],  # lengths vary
        "smb_port": [{"smb_port": 1000 + i} for i in n],
        "smb_timeout": [{"smb_timeout": 1 + i} for i in n],
        "frequency_hours": [{"frequency_hours": 4 + i % 9} for i in n],
        "retention_days": [{"retention_days": 2 + i % 13} for i in n],
        "scheduler": [{"scheduler": i % 2 == 1} for i in n],
        "sources": [{"sources": {f"R{i}": str(folders[i % 3])}} for i in n],
        "path": [{"path": str(folders[i % 3])} for i in n],
    }


def _expected(changes: dict[str, list[dict]]) -> dict[str, object]:
    return {name: seq[-1][name] for name, seq in changes.items()}


def _settings_of(store_dir: Path) -> dict[str, object]:
    raw = json.loads((store_dir / "settings.json").read_text())  # parseable, or the test fails
    s = Controller(Store(str(store_dir)), ManualClock(T0)).settings
    assert raw["userName"] == s.username
    return {"username": s.username, "smb_port": s.smb_port, "smb_timeout": s.smb_timeout,
            "frequency_hours": s.frequency_hours, "retention_days": s.retention_days,
            "scheduler": s.scheduler, "sources": s.sources, "path": s.path}


def _leftovers(store_dir: Path) -> list[str]:
    return sorted(n for n in os.listdir(store_dir) if "tmp" in n)


def _writer(store_dir: str, seq: list[dict], start) -> None:
    ctl = Controller(Store(store_dir, durable=False), ManualClock(T0))
    start.wait()
    for change in seq:
        ctl.configure(**change)


def _run_threads(targets) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(fn) -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_threads_changing_settings_lose_nothing(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    changes = _changes(tmp_path)
    start = threading.Barrier(len(changes))
    errors = _run_threads([lambda seq=seq: _writer(str(store_dir), seq, start)
                           for seq in changes.values()])
    assert errors == []
    assert _settings_of(store_dir) == _expected(changes)
    assert _leftovers(store_dir) == []


def test_processes_changing_settings_lose_nothing(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    Store(str(store_dir))
    changes = _changes(tmp_path)
    ctx = multiprocessing.get_context("fork")  # the children need only what is imported here
    start = ctx.Barrier(len(changes))
    procs = [ctx.Process(target=_writer, args=(str(store_dir), seq, start)) for seq in changes.values()]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * len(procs)
    assert _settings_of(store_dir) == _expected(changes)
    assert _leftovers(store_dir) == []


def test_threads_replacing_one_file_each_leave_a_whole_file(tmp_path: Path) -> None:
    """Plain writes, no lock: each thread's file must arrive whole (values of many lengths, so
    two writers sharing a temporary file would leave one's tail after the other's)."""
    store = Store(str(tmp_path / "store"), durable=False)
    values = {t: [{"writer": t, "pad": "p" * ((t * 37 + i * 11) % 300)} for i in range(ROUNDS)]
              for t in range(8)}
    start = threading.Barrier(len(values))

    def writer(seq: list[dict]) -> None:
        start.wait()
        for value in seq:
            store.write_json("alerts.json", value)
            assert store.read_json("alerts.json") in (v for s in values.values() for v in s)

    errors = _run_threads([lambda seq=seq: writer(seq) for seq in values.values()])
    assert errors == []
    assert store.read_json("alerts.json") in [seq[-1] for seq in values.values()]
    assert _leftovers(tmp_path / "store") == []


def test_threads_opening_a_new_store_at_once_all_get_it(tmp_path: Path) -> None:
    for attempt in range(20):
        root = tmp_path / f"store{attempt}" / "state"
        start = threading.Barrier(8)

        def opener(root: Path = root, start: threading.Barrier = start) -> None:
            start.wait()
            Store(str(root))

        assert _run_threads([opener] * 8) == []
        assert (root / "jobs").is_dir()


def _counter(store_dir: str, times: int, start) -> None:
    store = Store(store_dir, durable=False)
    start.wait()
    for _ in range(times):
        with store.locked("counter.json"):  # a read-modify-write, as configure does
            store.write_json("counter.json", store.read_json("counter.json", 0) + 1)


def test_the_lock_makes_read_modify_write_one_step_for_threads_and_processes(tmp_path: Path) -> None:
    store_dir = str(tmp_path / "store")
    Store(store_dir)
    ctx = multiprocessing.get_context("fork")
    start = ctx.Barrier(6)
    procs = [ctx.Process(target=_counter, args=(store_dir, 50, start)) for _ in range(3)]
    for p in procs:
        p.start()
    errors = _run_threads([lambda: _counter(store_dir, 50, start) for _ in range(3)])
    for p in procs:
        p.join(120)
    assert errors == [] and [p.exitcode for p in procs] == [0, 0, 0]
    assert Store(store_dir).read_json("counter.json") == 6 * 50


def test_concurrent_patches_through_the_rest_provider(tmp_path: Path) -> None:
    """The reported failure: many settings changes at once through the REST provider."""
    api = Api(str(tmp_path / "store"), TokenCheck(digest("t")))
    loc = ("/subscriptions/s/resourceGroups/system.local/providers/Microsoft.Backup.Admin"
           "/backupLocations/local?api-version=2021-09-01")
    n = range(100)  # 4 x 100: the 400 changes of the report
    bodies = {
        "userName": [f"user-{'x' * (i % 9)}-{i}" for i in n],
        "backupFrequencyInHours": [4 + i % 9 for i in n],
        "backupRetentionPeriodInDays": [2 + i % 13 for i in n],
        "smbPort": [2000 + i for i in n],
    }
    headers = {"Authorization": "Bearer t"}
    statuses: list[int] = []

    def patcher(field: str) -> None:
        for value in bodies[field]:
            body = json.dumps({"properties": {"externalStoreDefault": {field: value}}}).encode()
            statuses.append(handle(api, "PATCH", loc, headers, body).status)

    errors = _run_threads([lambda f=f: patcher(f) for f in bodies])
    assert errors == [] and set(statuses) == {202}, set(statuses)
    got = json.loads((tmp_path / "store" / "settings.json").read_text())
    assert {f: got[f] for f in bodies} == {f: seq[-1] for f, seq in bodies.items()}
