"""Same seed, same run: run a scenario or a fuzz program twice and compare what each left behind.

DESIGN.md promises byte-identical results for the same seed and inputs. ``check`` runs the same
thing twice and compares a digest of its event log and of the bytes it left (every file on the
share and in the controller's store, by path). When the digests differ it names the first event
that differs (its index, and both sides) or else the first file.

The engine draws each backup's data key from the OS and RSA-OAEP pads with fresh randomness, by
design (engine/keys.py): two honest runs leave different ciphertext. Both runs therefore happen
with that entropy drawn from a stream fixed by a seed (``pinned_entropy``), so a difference left
is the simulation's own. No decision may depend on those bytes: tests/determinism runs a scenario
twice without the pinning and finds only files differing, never an event.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ibs.engine import keys, store

#: What one run left behind: its event log, and files by path ("share/...", "store/...").
Record = tuple[list[dict[str, Any]], dict[str, bytes]]


@dataclass(frozen=True)
class Mismatch:
    """The first place two runs part: an event (by index) or a file (by path)."""

    where: str
    first: str
    second: str

    def __str__(self) -> str:
        return f"{self.where} differs\n  run 1: {self.first}\n  run 2: {self.second}"


@dataclass(frozen=True)
class Verdict:
    digests: tuple[str, str]
    mismatch: Mismatch | None

    @property
    def same(self) -> bool:
        return self.mismatch is None


def digest(record: Record) -> str:
    """SHA-256 over the events (each as canonical JSON) and the files (path, length, bytes)."""
    events, files = record
    h = hashlib.sha256()
    for event in events:
        h.update(_canonical(event).encode() + b"\n")
    for path in sorted(files):
        data = files[path]
        h.update(f"{path}\0{len(data)}\0".encode() + data)
    return h.hexdigest()


def compare(a: Record, b: Record) -> Mismatch | None:
    """Where ``b`` first departs from ``a``: events first (the cause), then files (the effect)."""
    for i in range(max(len(a[0]), len(b[0]))):
        left, right = _event_text(a[0], i), _event_text(b[0], i)
        if left != right:
            return Mismatch(f"event {i}", left, right)
    for path in sorted(a[1].keys() | b[1].keys()):
        left_bytes, right_bytes = a[1].get(path), b[1].get(path)
        if left_bytes != right_bytes:
            return Mismatch(f"file {path}", *_file_texts(left_bytes, right_bytes))
    return None


def check(run: Callable[[], Record], *, seed: int = 0) -> Verdict:
    """Run ``run`` twice, each time with the engine's entropy drawn from ``seed``, and compare.

    ``run`` runs one scenario or fuzz program from the start and returns its (events, files);
    ``scenario_run``, ``fuzz_run`` and ``snapshot`` make such callables and records."""
    records = []
    for _ in range(2):
        with pinned_entropy(seed):
            records.append(run())
    return Verdict((digest(records[0]), digest(records[1])), compare(records[0], records[1]))


def check_scenarios(scenarios: list, out: Callable[[str], None] = print) -> int:
    """``ibs run --check-determinism``: each scenario twice, in this process; 1 if any differs."""
    differ = 0
    for scenario in scenarios:
        verdict = check(scenario_run(scenario), seed=scenario.seed)
        what = f"{scenario.name} ({scenario.fidelity}, seed {scenario.seed})"
        if verdict.same:
            out(f"same      {what}: digest {verdict.digests[0][:16]}")
        else:
            differ += 1
            out(f"DIFFERENT {what}: {verdict.mismatch}\n  replay: ibs run {scenario.path} "
                f"--seed {scenario.seed} --fidelity {scenario.fidelity} --check-determinism")
    out(f"{len(scenarios) - differ} of {len(scenarios)} scenarios ran the same twice")
    return 1 if differ else 0


# --- what a run left behind ------------------------------------------------------------------

def snapshot(hub) -> Record:
    """A hub's event log and files: every file and folder on its share and in its store.

    Two things in the store are the machine's, not the simulation's, and are written as
    placeholders: the hub's scratch folder (a fresh temporary name each run) as ``<workdir>``,
    and this process's id in job records (``"pid"``) as ``"<pid>"``."""
    files: dict[str, bytes] = {}
    if hub.wire is not None:
        files.update(_tree("share", hub.wire.root))
    else:
        for path, data in hub.storage.files.items():
            files[f"share/{path}"] = bytes(data)
        for folder in hub.storage.dirs:
            if folder:
                files[f"share/{folder}/"] = b""
    workdir = hub.workdir.encode()
    pid = re.compile(rb'"pid": ?%d\b' % os.getpid())
    for path, data in _tree("store", hub.ctl.store.root).items():  # reading root writes it out
        files[path] = pid.sub(b'"pid": "<pid>"', data.replace(workdir, b"<workdir>"))
    events = json.loads(json.dumps(hub.log.entries, default=str))  # a copy the run cannot change
    return events, files


def _tree(prefix: str, root: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, dirs, names in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        base = prefix if rel == "." else f"{prefix}/{rel}"
        for d in dirs:
            out[f"{base}/{d}/"] = b""
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as f:
                out[f"{base}/{name}"] = f.read()
    return out


def scenario_run(scenario) -> Callable[[], Record]:
    """A callable that runs ``scenario`` (a loaded ``Scenario``) and returns its record; the
    result's checks, summary and backups close the event log, as one more event."""
    from ibs.scenarios.runner import run_scenario

    def run() -> Record:
        seen: list[Record] = []
        result = run_scenario(scenario, observe=lambda hub: seen.append(snapshot(hub)))
        events, files = seen[0] if seen else (list(result.events), {})
        outcome = result.to_json()
        del outcome["events"]
        return [*events, {"event": "scenario result", **outcome}], files

    return run


def fuzz_run(machine: type, seed: int, *, programs: int = 3, steps: int = 12) -> Callable[[], Record]:
    """A callable that runs ``programs`` fuzz programs of ``machine`` (a ``HubMachine`` class,
    scenarios/fuzz.py), generated by hypothesis from ``seed``, and returns their records one
    after another: events tagged with their program, files under ``program N/``.

    hypothesis chooses each step from what the previous ones did (a precondition, say), so a
    simulation that differs between runs shows here as a different program, too."""
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import seed as seed_of
    from hypothesis.stateful import run_state_machine_as_test

    from ibs.scenarios.fuzz_constants import seed_only

    def run() -> Record:
        taken: list[Record] = []

        class Recording(machine):
            def teardown(self) -> None:
                if self.hub is not None:
                    taken.append(snapshot(self.hub))
                super().teardown()

        Recording.__name__ = Recording.__qualname__ = f"Recorded{machine.__name__}"
        seed_of(seed)(Recording)
        config = settings(max_examples=programs, stateful_step_count=steps, deadline=None,
                          database=None, phases=[Phase.generate],
                          suppress_health_check=list(HealthCheck))
        failure: list[dict[str, Any]] = []
        try:
            with seed_only():
                run_state_machine_as_test(Recording, settings=config)
        except Exception as exc:  # noqa: BLE001  (a broken invariant is part of the run's record)
            first_line = (str(exc).splitlines() or [""])[0]
            failure.append({"event": "fuzz failure", "error": f"{type(exc).__name__}: {first_line}"})
        events: list[dict[str, Any]] = []
        files: dict[str, bytes] = {}
        for n, (program_events, program_files) in enumerate(taken):
            events += [{"program": n, **e} for e in program_events]
            files.update({f"program {n}/{p}": data for p, data in program_files.items()})
        return events + failure, files

    return run


# --- the engine's entropy, drawn from a seed -------------------------------------------------

@contextlib.contextmanager
def pinned_entropy(seed: int) -> Iterator[None]:
    """While inside, the bytes the engine would take from the OS come from streams fixed by
    ``seed``: data keys, RSA-OAEP padding, ``os.urandom`` and ``secrets`` tokens (store key and
    nonces, generation tokens). Each thread draws from its own stream (a server thread's draws
    must not shift the controller's), and data keys from one of their own.

    For checks only: it makes keys predictable, which nothing outside a test may want."""
    from ibs.simulator.calibration import forget_calibrations

    forget_calibrations()  # every run draws its hubs' calibration keys, cached or not before
    data_keys = random.Random(f"data-keys:{seed}")
    streams = threading.local()

    def urandom(n: int) -> bytes:
        if not hasattr(streams, "rng"):
            streams.rng = random.Random(f"entropy:{seed}")
        return streams.rng.randbytes(n)

    real_aesgcm = store.AESGCM

    class StoreAesGcm:  # the store's key comes from cryptography's own generator, not os.urandom
        generate_key = staticmethod(lambda bit_length: urandom(bit_length // 8))

        def __new__(cls, key: bytes):
            return real_aesgcm(key)

    saved = (keys.new_data_key, keys.wrap, store.AESGCM, os.urandom, secrets.token_bytes,
             secrets.token_hex)
    keys.new_data_key = lambda: data_keys.randbytes(keys.DATA_KEY_BYTES)
    keys.wrap = _wrap_without_fresh_padding
    store.AESGCM = StoreAesGcm  # type: ignore[assignment]  # the same calls, pinned
    os.urandom = urandom
    secrets.token_bytes = lambda nbytes=None: urandom(32 if nbytes is None else nbytes)
    secrets.token_hex = lambda nbytes=None: urandom(32 if nbytes is None else nbytes).hex()
    try:
        yield
    finally:
        (keys.new_data_key, keys.wrap, store.AESGCM, os.urandom, secrets.token_bytes,
         secrets.token_hex) = saved


def _wrap_without_fresh_padding(cert, data_key: bytes, backup_id) -> bytes:
    """``keys.wrap`` with OAEP's random seed taken from the key and backup id (RFC 8017,
    7.1.1: SHA-256, MGF1-SHA-256, the same label): ``keys.unwrap`` opens it as any other."""
    numbers = cert.public_key.public_numbers()
    k = (numbers.n.bit_length() + 7) // 8
    h_len = hashlib.sha256().digest_size
    label_hash = hashlib.sha256(keys.OAEP_LABEL_PREFIX + backup_id.bytes).digest()
    block = label_hash + bytes(k - len(data_key) - 2 * h_len - 2) + b"\x01" + data_key
    seed = hashlib.sha256(b"pinned OAEP seed" + backup_id.bytes + data_key).digest()
    masked_block = _xor(block, _mgf1(seed, k - h_len - 1))
    masked_seed = _xor(seed, _mgf1(masked_block, h_len))
    encoded = int.from_bytes(b"\x00" + masked_seed + masked_block, "big")
    return pow(encoded, numbers.e, numbers.n).to_bytes(k, "big")


def _mgf1(seed: bytes, length: int) -> bytes:
    out = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest()
                   for i in range(-(-length // 32)))
    return out[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


# --- showing a difference --------------------------------------------------------------------

def _canonical(event: dict[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, default=str)


def _event_text(events: list[dict[str, Any]], i: int) -> str:
    if i >= len(events):
        return f"(no event {i}: the run logged {len(events)})"
    return _canonical(events[i])


def _file_texts(a: bytes | None, b: bytes | None) -> tuple[str, str]:
    if a is None or b is None:
        return (_file_text(a), _file_text(b))
    offset = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"{len(a)} bytes, from byte {offset}: {a[offset:offset + 16].hex()}",
            f"{len(b)} bytes, from byte {offset}: {b[offset:offset + 16].hex()}")


def _file_text(data: bytes | None) -> str:
    return "(absent)" if data is None else f"{len(data)} bytes"
