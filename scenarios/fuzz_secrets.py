"""The fuzzer's check that no password or private key reached the event log, the store or the share.

It runs after every rule, and most rules change little: the log grows by a few entries, the
store rewrites a few files, the share gains a few chunks. Searching everything for every secret
each time was a third of a program's time, so each thing is searched once, when it first
appears, for every secret there is then: a secret cannot be in what was written before it
existed (the fuzzer makes each password and key when a rule hands it to the system). A share
file changes only by growing or by being replaced, except for tamper's one-bit flip, which
cannot write a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ibs.scenarios.secret_scan import SecretScanner, scan_for_secrets
from ibs.simulator.memstore import MemoryStore


class _Searched:
    """The content last searched at each path. Holding it keeps it alive, so a new object at
    the same path is never mistaken for it."""

    def __init__(self) -> None:
        self._done: dict[str, tuple[object, int]] = {}  # path -> (content, its length)

    def leaks(self, items: Iterable[tuple[str, bytes | bytearray | str]],
              secrets: list[bytes]) -> bool:
        before = self._done
        seen: dict[str, tuple[object, int]] = {}
        found = False
        overlap = max(map(len, secrets), default=1) - 1
        for path, data in items:
            was = before.get(path)
            if was is None or was[0] is not data or was[1] != len(data):
                raw = data.encode() if isinstance(data, str) else data  # the file's bytes on disk
                if was is not None and was[0] is data and was[1] < len(data):
                    # The same file grown by appends (a role file, chunk by chunk): only its
                    # tail is new, and a secret may straddle the old end.
                    raw = memoryview(raw)[max(0, was[1] - overlap):].tobytes()
                found = found or any(s in raw for s in secrets)
            seen[path] = (data, len(data))
        self._done = seen  # what is no longer present is forgotten
        return found


class SecretWatch:
    """Where a secret may leak, searched incrementally: each log entry, store text and share
    file once, when first seen, for every secret there is then."""

    def __init__(self) -> None:
        self._log = 0  # event-log entries searched
        self._store = _Searched()
        self._share = _Searched()
        self._wire_share = SecretScanner()

    def leak(self, hub, secrets: Iterable[bytes]) -> str | None:
        """Where a secret is found now ("the event log", "the store", "the share"), or None."""
        secrets = [s for s in secrets if s]
        entries = hub.log.entries
        new = entries[self._log:]
        self._log = len(entries)
        texts = [json.dumps(e).encode() for e in new]  # each entry once, not once per secret
        if any(s in text for text in texts for s in secrets):
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
