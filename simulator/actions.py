"""What can happen to a simulated hub: the operator's actions and the world's faults.

Each function changes the hub at the current virtual time and logs it; scenarios and tests
call them from SimPy processes. At wire fidelity the change is mirrored onto the real SMB
server and the port-445 proxy (simulator/wire.py).
"""

from __future__ import annotations

from ibs.engine.errors import BadInput, IbsError
from ibs.simulator import scale
from ibs.simulator.certificates import cert_pair
from ibs.simulator.clock import now_ticks
from ibs.simulator.config import DIALECTS, SHARE_HOST, SHARE_USER
from ibs.simulator.hub import Hub
from ibs.simulator.network import FirewallRule


def _changed(hub: Hub, event: str, **fields) -> None:
    hub.log.add(now_ticks(hub.env), event, **fields)
    if hub.wire is not None:
        hub.wire.sync()


# --- the network ------------------------------------------------------------------------------


def add_firewall_rule(hub: Hub, name: str, action: str, source: str | None = None,
                      target: str | None = None, port: int | None = 445) -> None:
    hub.firewall.add(FirewallRule(name=name, action=action, source=source, target=target, port=port))
    _changed(hub, "firewall rule added", rule=name, action=action, source=source or "any",
             port=port)


def remove_firewall_rule(hub: Hub, name: str) -> None:
    hub.firewall.remove(name)
    _changed(hub, "firewall rule removed", rule=name)


def block_port_445(hub: Hub, action: str = "reject", name: str = "block-445") -> None:
    """REJECT or DROP port 445 from every ERCS VM to the share."""
    add_firewall_rule(hub, name, action, target=SHARE_HOST)


def break_name_resolution(hub: Hub, host: str = SHARE_HOST) -> None:
    hub.dns.broken.add(host.lower())
    _changed(hub, "name resolution failing", host=host)


def fix_name_resolution(hub: Hub, host: str = SHARE_HOST) -> None:
    hub.dns.broken.discard(host.lower())
    _changed(hub, "name resolution restored", host=host)


# --- the file server --------------------------------------------------------------------------


def server_set_password(hub: Hub, password: str, user: str = SHARE_USER) -> None:
    hub.server.users[user] = password
    _changed(hub, "share credentials changed on the server", user=user)


def server_encryption(hub: Hub, mode: str) -> None:
    if mode not in ("required", "desired", "off"):
        raise BadInput(f"SMB encryption must be required, desired or off, not {mode!r}")
    hub.server.encryption = mode
    _changed(hub, "server encryption set", mode=mode)


def server_max_dialect(hub: Hub, dialect: str) -> None:
    if dialect not in DIALECTS:
        raise BadInput(f"dialect must be one of {', '.join(DIALECTS)}, not {dialect!r}")
    hub.server.max_dialect = dialect
    _changed(hub, "server dialect limited", maxDialect=dialect)


def fill_share(hub: Hub, free_gb: float) -> None:
    """Other data fills the share until only ``free_gb`` (modelled) is left."""
    storage = hub.storage
    used_by_backups = scale.to_real(hub.share_used_bytes())
    target_free = scale.to_real(free_gb * scale.GB)
    storage.filler = max(0, storage.capacity - used_by_backups - target_free)
    _changed(hub, "share filled", freeBytes=int(free_gb * scale.GB))


def free_share(hub: Hub) -> None:
    hub.storage.filler = 0
    _changed(hub, "share space freed")


# --- the hub ----------------------------------------------------------------------------------


def maintenance(hub: Hub, hours: float, kind: str = "update") -> None:
    """An update or FRU window starting now."""
    if kind not in ("update", "FRU"):
        raise BadInput(f"maintenance kind must be update or FRU, not {kind!r}")
    hub.add_maintenance(hours, kind)
    hub.log.add(now_ticks(hub.env), "maintenance window", kind=kind, hours=hours)


def fail_ercs(hub: Hub, vm: str) -> None:
    hub.fail_ercs(vm)


def restore_ercs(hub: Hub, vm: str) -> None:
    hub.restore_ercs(vm)


# --- the operator -----------------------------------------------------------------------------


def _shown(key: str, value):
    """A setting as the event log may show it: no password, a certificate by its thumbprint."""
    if key == "password":
        return "***"
    if key == "cert":
        from ibs.engine.certs import thumbprint

        return f"certificate {thumbprint(value)}"
    return value


def operator_configure(hub: Hub, **changes) -> list[str]:
    """The operator changes settings (Set-AzsBackupConfiguration); returns what retention pruned.

    A refused change is logged with its message and changes nothing.
    """
    shown = {k: _shown(k, v) for k, v in changes.items()}
    try:
        result = hub.ctl.configure(**changes)
    except IbsError as exc:
        hub.log.add(now_ticks(hub.env), "settings refused", changes=shown, message=str(exc))
        return []
    hub.log.add(now_ticks(hub.env), "settings changed", changes=shown, pruned=len(result.pruned))
    hub.wake_scheduler()
    return result.pruned


def rotate_certificate(hub: Hub, name: str) -> str:
    """Upload a new .CER (deterministic from the run's seed and ``name``); returns its thumbprint."""
    from ibs.engine.certs import thumbprint

    hub.certs[name] = cert_pair(f"{hub.config.seed}:{name}")
    hub.current_cert = name
    operator_configure(hub, cert=hub.certs[name][0])
    return thumbprint(hub.certs[name][0])


def request_backup(hub: Hub):
    return hub.request_backup()


def tamper(hub: Hub, backup_id: str, role: str = "CA", offset: int = 100) -> None:
    """Flip one bit in a role's data file of a backup on the share."""
    path = f"MASBackup/{backup_id}/roles/{role}.ibsr"
    if hub.wire is not None:
        hub.wire.flip_bit(path, offset)
    else:
        key = next((k for k in hub.storage.files if k.endswith(path)), None)
        if key is None:
            raise BadInput(f"backup {backup_id} has no role file {role} on the share")
        data = hub.storage.files[key]
        data[offset % len(data)] ^= 0x01
    hub.log.add(now_ticks(hub.env), "backup tampered", id=backup_id, role=role)

