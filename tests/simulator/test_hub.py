"""The simulated hub drives the real engine in virtual time: exact times, faults, recovery."""

from __future__ import annotations

import json

import pytest

from ibs.simulator import actions
from ibs.simulator.recovery import recover
from ibs.simulator.summary import summarize
from tests.simulator.conftest import at, finished

H = 3600


def test_default_policy_for_seven_days_gives_fourteen_backups_at_exact_times(make_hub):
    hub = make_hub(4)
    hub.run(7.02)
    starts = [e["t"] for e in hub.log.of("backup started")]
    assert starts == [12 * H * k for k in range(1, 15)]
    # Ten roles snapshotted (120 s each), then the backup's 20 GB (framing included, whatever
    # the scale) at 100 MB/s, plus the link's latency per step: within the 20-40 minutes a real
    # job takes (REFERENCE.md).
    durations = [e["t"] - s for e, s in zip(finished(hub), starts)]
    assert all(1400 < d < 1400.1 for d in durations), durations
    assert all(e["status"] == "Succeeded" for e in finished(hub))
    result = summarize(hub, 7.02)
    assert result["backups"]["Succeeded"] == 14
    assert result["sharePeakBytes"] <= result["budgetBytes"] == 280 * 10**9
    assert result["recoveryCheck"] == "passed"


def test_asdk_stays_within_140_gb_over_thirty_days(make_hub):
    hub = make_hub(1)
    hub.run(30)
    result = summarize(hub, 30, check_recovery=False)
    assert result["budgetBytes"] == 140 * 10**9
    assert 139 * 10**9 < result["sharePeakBytes"] <= 140 * 10**9
    assert result["backups"]["Deleted"] == result["backups"]["Succeeded"] + result["backups"]["Deleted"] - 14


def test_on_demand_while_a_job_runs_is_refused_and_does_not_move_the_schedule(make_hub):
    hub = make_hub(4)
    at(hub, 5, actions.request_backup)
    at(hub, 12.05, actions.request_backup)  # the scheduled job of 12:00 is still running
    hub.run(1.02)
    refused = hub.log.of("on-demand refused")
    assert len(refused) == 1 and "another backup job is running" in refused[0]["reason"]
    assert [e["trigger"] for e in hub.log.of("backup started")] == ["OnDemand", "Scheduled", "Scheduled"]
    assert [e["t"] for e in hub.log.of("backup started")][1:] == [12 * H, 24 * H]


def test_update_window_skips_scheduled_backups_and_refuses_on_demand(make_hub):
    hub = make_hub(4)
    at(hub, 11, lambda h: actions.maintenance(h, hours=14))
    at(hub, 13, actions.request_backup)
    hub.run(1.52)
    assert len(hub.log.of("backup skipped")) == 2  # 12:00 and 24:00
    assert "update" in hub.log.of("on-demand refused")[0]["reason"]
    assert [e["t"] for e in hub.log.of("backup started")] == [36 * H]


@pytest.mark.parametrize("action, category", [("reject", "Connectivity"), ("drop", "Connectivity")])
def test_port_445_blocked_raises_connectivity_then_recovers(make_hub, action, category):
    hub = make_hub(4)
    at(hub, 1, lambda h: actions.block_port_445(h, action))
    at(hub, 30, lambda h: actions.remove_firewall_rule(h, "block-445"))
    hub.run(2.02)
    statuses = [(e["status"], e.get("category")) for e in finished(hub)]
    assert statuses == [("Failed", category), ("Failed", category), ("Succeeded", None), ("Succeeded", None)]
    alerts = hub.ctl.alert_book().alerts
    assert [a.category for a in alerts] == [category] and alerts[0].clearedDateTime is not None


def test_firewall_blocking_the_active_ercs_vm_until_failover(make_hub):
    hub = make_hub(4)
    for vm in ("ERCS01", "ERCS02"):
        actions.add_firewall_rule(hub, f"deny-{vm}", "drop", source=vm)
    at(hub, 13, lambda h: actions.fail_ercs(h, "ERCS01"))  # controller moves to ERCS02: still blocked
    at(hub, 25, lambda h: actions.fail_ercs(h, "ERCS02"))  # then to ERCS03, which is allowed
    hub.run(2.02)
    assert [e["vm"] for e in hub.log.of("controller failover")] == ["ERCS02", "ERCS03"]
    assert [e["status"] for e in finished(hub)] == ["Failed", "Failed", "Succeeded", "Succeeded"]


def test_ercs_failure_mid_job_kills_it_and_the_next_job_cleans_up(make_hub):
    hub = make_hub(4)
    at(hub, 12.1, lambda h: actions.fail_ercs(h, "ERCS01"))
    hub.run(1.02)
    crashed = hub.log.of("controller crashed")
    assert len(crashed) == 1
    records = {r.id: r for r in hub.ctl.backups()}
    assert records[crashed[0]["id"]].status == "Failed"
    assert "interrupted" in records[crashed[0]["id"]].error["message"]
    assert [e["status"] for e in finished(hub)] == ["Succeeded"]
    leftovers = [p for p in hub.storage.dirs if ".partial-" in p]
    assert leftovers == []


def test_name_not_resolvable_from_the_pep(make_hub):
    hub = make_hub(4)
    actions.break_name_resolution(hub)
    hub.run(0.6)
    assert finished(hub)[0]["category"] == "Connectivity"
    assert "does not resolve from the privileged endpoint" in finished(hub)[0]["message"]


def test_credentials_rotated_on_server_then_updated_by_operator(make_hub):
    hub = make_hub(4)
    at(hub, 1, lambda h: actions.server_set_password(h, "n3w-secret"))
    at(hub, 14, lambda h: actions.operator_configure(h, password="n3w-secret"))
    hub.run(1.02)
    assert [(e["status"], e.get("category")) for e in finished(hub)] == [
        ("Failed", "Authentication"), ("Succeeded", None)]
    assert "n3w-secret" not in hub.log.to_jsonl()


def test_server_without_encryption_falls_back_and_data_stays_encrypted(make_hub):
    hub = make_hub(4)
    actions.server_encryption(hub, "off")
    hub.run(0.6)
    record = hub.ctl.backups()[0]
    assert record.status == "Succeeded" and record.transferEncrypted is False
    state = hub.snapshots[record.id]["ECE"].files()["state.json"]
    assert not any(state in data for data in hub.storage.files.values())


def test_smb2_only_server_is_refused_naming_the_dialect(make_hub):
    hub = make_hub(4)
    actions.server_max_dialect(hub, "2.1")
    hub.run(0.6)
    event = finished(hub)[0]
    assert event["category"] == "Connectivity" and "SMB 2.1" in event["message"]


def test_share_full_mid_backup_leaves_no_partial_backup(make_hub):
    hub = make_hub(4, share_capacity_bytes=300 * 10**9)
    at(hub, 12.05, lambda h: actions.fill_share(h, free_gb=5))  # mid-write of a 20 GB backup
    hub.run(0.6)
    event = finished(hub)[0]
    assert event["category"] == "ShareCapacity"
    assert not any(".partial-" in p or p.count("/") == 3 for p in hub.storage.dirs if "MASBackup/" in p)
    assert hub.share_used_bytes() == 0


def test_lowering_retention_prunes_at_once(make_hub):
    hub = make_hub(4)
    hub.run(3.02)
    assert len([r for r in hub.ctl.backups() if r.status == "Succeeded"]) == 6
    at(hub, 3.02 * 24, lambda h: actions.operator_configure(h, retention_days=2))
    hub.run(3.03)
    kept = [r for r in hub.ctl.backups() if r.status == "Succeeded"]
    assert len(kept) == 4  # created within the last two days


def test_certificate_rotation_and_recovery_with_each_pfx(make_hub):
    hub = make_hub(4)
    at(hub, 13, lambda h: actions.rotate_certificate(h, "second"))
    hub.run(1.02)
    old, new = [r for r in hub.ctl.backups() if r.status == "Succeeded"]
    assert old.encryptionCertThumbprint != new.encryptionCertThumbprint
    first_pfx = hub.certs["initial"][1:]
    second_pfx = hub.certs["second"][1:]
    assert recover(hub, old.id, *first_pfx).outcome == "passed"
    assert recover(hub, new.id, *second_pfx).outcome == "passed"
    wrong = recover(hub, old.id, *second_pfx)
    assert wrong.outcome == "refused" and old.encryptionCertThumbprint in wrong.message


def test_single_role_recovery_restores_the_state_captured_at_backup_time(make_hub):
    hub = make_hub(4)
    hub.run(2.02)
    first = next(r for r in hub.ctl.backups() if r.status == "Succeeded")
    result = recover(hub, first.id, *hub.certs["initial"][1:], role="KeyVault")
    assert result.outcome == "passed" and result.roles == {"KeyVault": "equal"}
    # The roles changed since: a restore of the first backup is not today's state.
    assert hub.snapshots[first.id]["KeyVault"].version < hub.roles["KeyVault"].version


def test_recovery_refused_across_too_large_a_version_gap(make_hub):
    hub = make_hub(4, version="1.2306.1.10")
    hub.run(0.6)
    backup = hub.ctl.backups()[0]
    pfx = hub.certs["initial"][1:]
    assert recover(hub, backup.id, *pfx, target_version="1.2311.0.1").outcome == "passed"
    refused = recover(hub, backup.id, *pfx, target_version="1.2406.0.1")
    assert refused.outcome == "refused" and "more than one version newer" in refused.message


def test_asdk_recovery_only_into_the_same_build(make_hub):
    hub = make_hub(1, version="1.2408.1.50")
    hub.run(0.6)
    backup = hub.ctl.backups()[0]
    refused = recover(hub, backup.id, *hub.certs["initial"][1:], target_version="1.2408.1.52")
    assert refused.outcome == "refused" and "same build" in refused.message


def test_tampered_backup_is_refused_at_recovery(make_hub):
    hub = make_hub(4)
    hub.run(0.6)
    backup = hub.ctl.backups()[0]
    actions.tamper(hub, backup.id, "CA")
    result = recover(hub, backup.id, *hub.certs["initial"][1:])
    assert result.outcome == "refused" and result.category == "IntegrityError"


def test_same_seed_same_log_and_results_different_seed_differs(make_hub):
    def run(seed):
        hub = make_hub(4, seed=seed)
        at(hub, 30, lambda h: actions.block_port_445(h, "reject"))
        at(hub, 40, lambda h: actions.remove_firewall_rule(h, "block-445"))
        hub.run(3)
        return hub.log.to_jsonl(), json.dumps(summarize(hub, 3), sort_keys=True)

    assert run(7) == run(7)
    assert run(7)[0] != run(8)[0]
