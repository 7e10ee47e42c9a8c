"""The state directory: settings, job history, alerts, the schedule, and the job slot's lock.

Every file is replaced atomically (write beside, fsync, rename), so a crash never leaves a
half-written file. The share password is stored encrypted with AES-256-GCM under a key kept
in the store with mode 0600, never in plaintext; the PFX is never stored at all.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import stat
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.errors import BadInput, IbsError, JobSlotTaken

ENV_STORE = "IBS_STORE"
_PASSWORD_AAD = b"IBS1 share password"


def default_store_dir() -> str:
    from platformdirs import user_state_dir

    return user_state_dir("ibs", appauthor=False)


def resolve_store_dir(flag: str | None) -> str:
    return os.path.abspath(flag or os.environ.get(ENV_STORE) or default_store_dir())


class Store:
    """One state directory. Created with mode 0700 if missing; refused if others can write it.

    ``durable=False`` skips the fsyncs: for simulations, whose store is scratch space and
    whose thousands of jobs would otherwise wait on the disk.

    ``private=True`` promises that no other process writes this store (a simulation's scratch
    store): reads are then answered from what this object last wrote, without opening the
    file, and files are written compactly. The files are still written, so whatever inspects
    the store on disk (a scan for secrets, a person) sees what a shared store would hold.
    """

    def __init__(self, root: str, *, durable: bool = True, private: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.durable = durable
        self.private = private
        self._written: dict[str, str] = {}  # private stores: name -> the JSON text last written
        self._writes: dict[str, int] = {}  # private stores: name -> writes so far
        if not os.path.exists(self.root):
            try:
                os.makedirs(self.root, mode=0o700)
            except OSError as exc:
                raise BadInput(f"cannot create store directory {self.root}: {exc.strerror}") from None
        st = os.stat(self.root)
        if not stat.S_ISDIR(st.st_mode):
            raise BadInput(f"store {self.root} is not a directory")
        if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise BadInput(
                f"store directory {self.root} can be written by other users; "
                f"run 'chmod 700 {self.root}' (and make sure you own it)"
            )
        os.makedirs(self.path("jobs"), mode=0o700, exist_ok=True)

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    # --- files --------------------------------------------------------------------------

    def read_json(self, name: str, default: Any = None) -> Any:
        if self.private and name in self._written:
            return json.loads(self._written[name])
        try:
            with open(self.path(name), encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return default
        except ValueError:
            raise IbsError(f"store file {self.path(name)} is corrupt; restore it or remove it") from None

    def write_json(self, name: str, value: Any) -> None:
        target = self.path(name)
        tmp = f"{target}.tmp-{os.getpid()}"
        # json's indented form is encoded in pure Python: a private store takes the fast one.
        text = (json.dumps(value, sort_keys=True, separators=(",", ":")) if self.private
                else json.dumps(value, indent=2, sort_keys=True))
        data = text.encode("utf-8") + b"\n"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
            if self.durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        if self.private:
            self._written[name] = text
            self._writes[name] = self._writes.get(name, 0) + 1
        if not self.durable:
            return
        dfd = os.open(os.path.dirname(target), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def revision(self, name: str) -> int | None:
        """For a private store, a number that changes with every write of ``name`` (so a reader
        may keep what it derived from it until then); None for a shared store, which another
        process may change at any time."""
        return self._writes.get(name, 0) if self.private else None

    def list_json(self, folder: str) -> list[Any]:
        names = sorted(n for n in os.listdir(self.path(folder))
                       if n.endswith(".json") and not n.startswith("."))
        return [self.read_json(os.path.join(folder, n)) for n in names]

    # --- the share password -------------------------------------------------------------

    def _secret_key(self) -> bytes:
        path = self.path("store.key")
        try:
            with open(path, "rb") as f:
                key = f.read()
        except FileNotFoundError:
            key = AESGCM.generate_key(bit_length=256)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, key)
                os.fsync(fd)
            finally:
                os.close(fd)
        if len(key) != 32:
            raise IbsError(f"store key {path} is corrupt")
        return key

    def seal_password(self, password: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._secret_key()).encrypt(nonce, password.encode("utf-8"), _PASSWORD_AAD)
        return base64.b64encode(nonce + sealed).decode("ascii")

    def open_password(self, sealed: str) -> str:
        try:
            raw = base64.b64decode(sealed)
            return AESGCM(self._secret_key()).decrypt(raw[:12], raw[12:], _PASSWORD_AAD).decode("utf-8")
        except (ValueError, InvalidTag):
            raise IbsError(
                "the stored share password cannot be decrypted (store.key changed?); set it again "
                "with 'ibs config set --password-file'"
            ) from None


class JobSlot:
    """The one job slot, held as an exclusive flock on ``job.lock`` in the store.

    flock belongs to the open file, so a second holder is refused whether it lives in another
    process or in this one; the kernel releases it when a holder dies, however it dies.
    """

    def __init__(self, store: Store) -> None:
        self._path = store.path("job.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JobSlotTaken(
                "another backup job is running (at most one job at a time); wait for it to "
                "finish, see 'ibs backup list'"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None
