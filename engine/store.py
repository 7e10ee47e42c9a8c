"""The state directory: settings, job history, alerts, the schedule, and the job slot's lock.

Every file is replaced atomically (write beside under a name no other writer uses, fsync,
rename), so a crash or a concurrent writer never leaves a half-written file; a read-modify-write
holds the file's lock (an flock, so threads and processes alike wait their turn). A file found
damaged is reported with its path and what to do, as bad input (exit 2).

The share password is stored encrypted with AES-256-GCM under a key kept in the store with mode
0600, never in plaintext; the PFX is never stored at all.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import functools
import json
import os
import secrets
import stat
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ibs.engine.errors import BadInput, IbsError, JobSlotTaken

ENV_STORE = "IBS_STORE"
_PASSWORD_AAD = b"IBS1 share password"
if typing.TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = typing.TypeVar("T", bound="DataclassInstance")  # a store file holds one dataclass record

# What to do about a damaged file, by the file's name (or its folder's).
_REMEDIES = {
    "settings.json": "move it aside and set every setting again with 'ibs config set' (the "
                     "share password and certificate included)",
    "jobs": "move it aside: that job's history entry is lost, its backup on the share is not",
    "alerts.json": "move it aside: the alert history is lost, and alerts are raised again as needed",
    "schedule.json": "move it aside: the next scheduled backup is one period from the next start",
}


# ``json.dumps(value, sort_keys=True, separators=(",", ":"))``, without making an encoder per
# call (a simulated year writes some 15,000 files; the encoder was a sixth of each write).
_COMPACT = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


class StoreFileDamaged(BadInput):
    """A file in the state directory does not hold what the engine wrote there."""

    def __init__(self, path: str, what: str) -> None:
        name = os.path.basename(path)
        remedy = _REMEDIES.get(name) or _REMEDIES.get(os.path.basename(os.path.dirname(path)),
                                                      "move it aside or restore it from a copy")
        super().__init__(f"store file {path} is damaged ({what}); {remedy}")
        self.path = path


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
                # exist_ok: another thread or process may be creating the same new store.
                os.makedirs(self.root, mode=0o700, exist_ok=True)
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

    def job_slot(self) -> JobSlot:
        """The store's one job slot (a controller takes it for every job)."""
        return JobSlot(self)

    # --- files --------------------------------------------------------------------------

    def read_json(self, name: str, default: Any = None) -> Any:
        if self.private and name in self._written:
            return json.loads(self._written[name])
        try:
            with open(self.path(name), encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return default
        except UnicodeDecodeError:
            raise StoreFileDamaged(self.path(name), "not UTF-8 text") from None
        except ValueError as exc:  # json.JSONDecodeError, with the place it stopped
            raise StoreFileDamaged(self.path(name), f"not JSON: {exc}") from None
        except RecursionError:
            raise StoreFileDamaged(self.path(name), "JSON nested too deeply") from None

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        """Hold the exclusive lock of ``name`` (a read-modify-write in progress).

        An flock on ``<name>.lock``, taken on a descriptor of its own: two holders exclude each
        other whether they are threads or processes, and a dead holder's lock is released by
        the kernel. Not reentrant: a holder must not take it again.
        """
        fd = os.open(self.path(f"{name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    def write_json(self, name: str, value: Any, *, owned: bool = False) -> None:
        """``owned``: the caller hands ``value`` over and never changes it again, so a store that
        keeps values rather than text (simulator/memstore.py) need not snapshot it."""
        text = self._text(value)
        self._write_file(name, text)
        if self.private:
            self._written[name] = text
            self._writes[name] = self._writes.get(name, 0) + 1

    def _text(self, value: Any) -> str:
        # json's indented form is encoded in pure Python: a private store takes the fast one.
        return _COMPACT.encode(value) if self.private else json.dumps(value, indent=2, sort_keys=True)

    def _write_file(self, name: str, text: str) -> None:
        target = self.path(name)
        # A name of its own for every write: threads share the pid, so the pid is not enough.
        folder, base = os.path.split(target)
        tmp = os.path.join(folder, f".{base}.{os.getpid()}-{secrets.token_hex(6)}.tmp")
        data = text.encode("utf-8") + b"\n"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:  # os.write may write less than asked
                    view = view[os.write(fd, view):]
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
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
        return [value for _, value in self.named_json(folder)]

    def named_json(self, folder: str) -> list[tuple[str, Any]]:
        """(path, value) of every ``*.json`` file in ``folder``, by name; hidden files skipped."""
        names = sorted(n for n in os.listdir(self.path(folder))
                       if n.endswith(".json") and not n.startswith("."))
        return [(self.path(folder, n), self.read_json(os.path.join(folder, n))) for n in names]

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


SLOT_TAKEN = ("another backup job is running (at most one job at a time); wait for it to "
              "finish, see 'ibs backup list'")


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
            raise JobSlotTaken(SLOT_TAKEN) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def record_from_json(cls: type[T], raw: Any, path: str,
                     check: Callable[[T], str | None] = lambda record: None) -> T:
    """An instance of the dataclass ``cls`` from a store file's JSON object, every field's type
    checked against ``cls``'s annotations and then by ``check`` (which says what is wrong, if
    anything), or ``StoreFileDamaged`` naming the first wrong field."""
    if not isinstance(raw, dict):
        raise StoreFileDamaged(path, f"a JSON object is expected, not {_json_kind(raw)}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise StoreFileDamaged(path, f"unknown field {unknown[0]!r}")
    for name, f in fields.items():
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise StoreFileDamaged(path, f"field {name!r} is missing")
            continue
        if not _fits(raw[name], hints[name]):
            raise StoreFileDamaged(path, f"field {name!r} is {_json_kind(raw[name])} {_short(raw[name])}, "
                                         f"expected {_type_name(hints[name])}")
    record = cls(**raw)
    wrong = check(record)
    if wrong:
        raise StoreFileDamaged(path, wrong)
    return record


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fits(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_fits(k, args[0]) and _fits(v, args[1])
                                               for k, v in value.items())
    if hint is int:  # JSON's true is not a number
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
             type(None): "null", Any: "any value"}
    if hint in names:
        return names[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is list:
        return f"a list of {_type_name(args[0])}" if args else "a list"
    if origin is dict:
        return "an object"
    return getattr(hint, "__name__", str(hint))


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
