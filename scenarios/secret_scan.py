"""Repeated searches for secrets in data that mostly has not changed since the last search.

The fuzzer checks after every rule that no password or private key reached the share, the store or
the event log. Searching every byte for every secret each time costs (bytes x secrets) per rule:
a 16-node hub keeping 14 days of 4-hourly backups holds tens of MB, and a program that rotates
passwords and certificates collects dozens of secrets, which made single programs take minutes.
Content that was already searched for a secret cannot contain it later, so each distinct content
is searched once per secret: a digest (far cheaper than one search per secret) says whether a
blob was seen, and which secrets it was already searched for.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable


class SecretScanner:
    """Remembers, per distinct content, which secrets it has been searched for."""

    def __init__(self) -> None:
        self._searched: dict[bytes, set[bytes]] = {}

    def leaks(self, blobs: Iterable[bytes], secrets: Iterable[bytes]) -> bool:
        """Does any blob contain any secret?"""
        wanted = {s for s in secrets if s}
        seen: set[bytes] = set()
        found = False
        for data in blobs:
            key = hashlib.sha256(data).digest()
            seen.add(key)
            done = self._searched.setdefault(key, set())
            new = wanted - done
            if any(s in data for s in new):
                found = True
            else:
                done |= new
        # Content no longer present is forgotten, so memory follows what the share holds now.
        for key in self._searched.keys() - seen:
            del self._searched[key]
        return found


def scan_for_secrets(folder: str, secrets: list[bytes]) -> list[str]:
    """Files under ``folder`` that contain any of ``secrets``."""
    found = []
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                data = f.read()
            if any(s in data for s in secrets):
                found.append(path)
    return found
