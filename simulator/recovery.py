"""Cloud recovery: a hub redeployed in recovery mode restores roles from a backup on the share.

The redeployed stamp has its own fresh store and knows only the share's path and credentials,
the backup id and the PFX, as in the real procedure. Each restored role is compared with the
role state the simulator captured when that backup was taken.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from dataclasses import dataclass, field

from ibs.engine import certs
from ibs.engine.controller import Controller
from ibs.engine.errors import IbsError
from ibs.engine.store import Store
from ibs.simulator.profiles import release_index

PASSED = "passed"
FAILED = "failed"
REFUSED = "refused"


@dataclass
class RecoveryResult:
    backup_id: str
    outcome: str  # passed, failed (restored but different), refused (an error stopped it)
    roles: dict[str, str] = field(default_factory=dict)  # role -> "equal" or what differs
    message: str = ""
    category: str | None = None  # the error's class name when refused

    def to_json(self) -> dict[str, object]:
        return {"backupId": self.backup_id, "outcome": self.outcome, "roles": self.roles,
                "message": self.message, "error": self.category}


def version_rule(backup_version: str | None, target_version: str, asdk: bool) -> str | None:
    """Why a restore into ``target_version`` is refused, or None (REFERENCE.md, Cloud recovery)."""
    if backup_version is None:
        return "the backup does not record its stamp version"
    if asdk:
        if backup_version != target_version:
            return (f"an ASDK backup restores only into the same build: backup {backup_version}, "
                    f"redeployed {target_version}")
        return None
    gap = release_index(target_version) - release_index(backup_version)
    if gap < 0:
        return f"the redeployed stamp {target_version} is older than the backup's {backup_version}"
    if gap > 1:
        return (f"the redeployed stamp {target_version} is more than one version newer than the "
                f"backup's {backup_version}")
    return None


def recover(hub, backup_id: str, pfx: bytes, pfx_password: str, role: str | None = None,
            target_version: str | None = None) -> RecoveryResult:
    target_version = target_version or hub.profile.version
    record = next((r for r in hub.ctl.backups() if r.id == backup_id), None)
    backup_version = record.stampVersion if record else hub.profile.version
    reason = version_rule(backup_version, target_version, hub.profile.asdk)
    if reason:
        return RecoveryResult(backup_id, REFUSED, message=reason, category="VersionRule")
    work = tempfile.mkdtemp(prefix="ibs-recovery-", dir=os.path.dirname(hub.workdir))
    try:
        fresh = Controller(Store(os.path.join(work, "store"), durable=False), hub.clock,
                           share_factory=hub.ctl.share_factory, threads=False)
        settings = hub.ctl.settings
        fresh.configure(path=settings.path, username=settings.username,
                        password=hub.stored_share_password() or "", smb_port=settings.smb_port,
                        smb_timeout=settings.smb_timeout)
        try:
            key = _load_pfx(pfx, pfx_password)
            target = os.path.join(work, "restored")
            fresh.restore(backup_id, key, target, role)
        except IbsError as exc:
            return RecoveryResult(backup_id, REFUSED, message=str(exc),
                                  category=type(exc).__name__)
        return _compare(hub, backup_id, target, role)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _compare(hub, backup_id: str, target: str, role: str | None) -> RecoveryResult:
    captured = hub.snapshots.get(backup_id, {})
    roles = [role] if role else sorted(captured)
    result = RecoveryResult(backup_id, PASSED)
    if not captured:
        return RecoveryResult(backup_id, FAILED, message="no captured role state for this backup")
    restored_roles = sorted(os.listdir(target))
    if restored_roles != sorted(roles):
        result.outcome = FAILED
        result.message = f"restored roles {restored_roles}, expected {sorted(roles)}"
    for name in roles:
        expected = captured[name].files()
        folder = os.path.join(target, name)
        found = {}
        for dirpath, _dirs, files in os.walk(folder):
            for f in files:
                full = os.path.join(dirpath, f)
                with open(full, "rb") as fh:
                    found[os.path.relpath(full, folder)] = fh.read()
        if found == expected:
            result.roles[name] = "equal"
        else:
            result.outcome = FAILED
            result.roles[name] = f"differs: {sorted(set(found) ^ set(expected)) or 'contents'}"
    return result


@functools.lru_cache(maxsize=32)
def _load_pfx(pfx: bytes, password: str) -> certs.DecryptionKey:
    # Loading checks the RSA key, a tenth of a second; a simulation recovers with the same few
    # test certificates again and again (the fuzzer, a hundred times a minute).
    return certs.load_pfx(pfx, password, "recovery PFX")
