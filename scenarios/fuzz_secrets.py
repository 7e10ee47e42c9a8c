"""The fuzzer's check that no password or private key reached the event log, the store or the share.

It runs after every rule, and most rules change little: the log grows by a few entries, the
store rewrites a few files, the share gains a few chunks. Searching everything for every secret
each time was a third of a program's time, so each thing is searched once per secret: a log
entry when it is added, a store file per text written, a share file per content object and length.
A share file changes only by growing or by being replaced, except for tamper's one-bit flip,
which cannot write a secret; a new secret is searched for everywhere once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ibs.scenarios.secret_scan import SecretScanner, scan_for_secrets
from ibs.simulator.memstore import MemoryStore


class _Searched:
    """Per path, the content last searched and for how many secrets. Holding the content keeps
    it alive, so a new object at the same path is never mistaken for it."""

    def __init__(self) -> None:
        self._done: dict[str, tuple[object, int, int]] = {}  # path -> (content, length, secrets)

    def leaks(self, items: Iterable[tuple[str, bytes | bytearray | str]],
              secrets: list[bytes]) -> bool:
        before = self._done
        seen: dict[str, tuple[object, int, int]] = {}
        found = False
        for path, data in items:
            was = before.get(path)
            start = was[2] if was is not None and was[0] is data and was[1] == len(data) else 0
            wanted = secrets[start:]
            if wanted:
                raw = data.encode() if isinstance(data, str) else data  # the file's bytes on disk
                found = found or any(s in raw for s in wanted)
            seen[path] = (data, len(data), len(secrets))
        self._done = seen  # what is no longer present is forgotten
        return found


class SecretWatch:
    """Where a secret may leak, searched incrementally. It keeps its own list of the secrets it
    was given, in the order first seen, so "searched for the first n" is all it remembers."""

    def __init__(self) -> None:
        self._secrets: list[bytes] = []
        self._known: set[bytes] = set()
        self._log: list[bytes] = []  # each event-log entry, encoded once
        self._log_searched = 0  # how many secrets every entry in ``_log`` was searched for
        self._store = _Searched()
        self._share = _Searched()
        self._wire_share = SecretScanner()

    def leak(self, hub, secrets: Iterable[bytes]) -> str | None:
        """Where a secret is found now ("the event log", "the store", "the share"), or None."""
        for s in secrets:
            if s and s not in self._known:
                self._known.add(s)
                self._secrets.append(s)
        secrets = self._secrets
        log = self._log
        old, fresh = secrets[:self._log_searched], secrets[self._log_searched:]
        if fresh and any(s in e for e in log for s in fresh):
            return "the event log"
        self._log_searched = len(secrets)
        entries = hub.log.entries
        new = [json.dumps(e).encode() for e in entries[len(log):]]
        log += new
        if any(s in e for e in new for s in old + fresh):
            return "the event log"
        store = hub.ctl.store
        if isinstance(store, MemoryStore):
            if self._store.leaks(store.texts().items(), secrets):
                return "the store"
        elif scan_for_secrets(store.root, secrets):
            return "the store"
        if hub.wire is not None:
            from ibs.scenarios.expect import share_bytes

            if self._wire_share.leaks(share_bytes(hub), secrets):
                return "the share"
        elif self._share.leaks(hub.storage.files.items(), secrets):
            return "the share"
        return None
