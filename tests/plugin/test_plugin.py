"""The ibs pytest plugin, seen from a user's test folder (pytester runs pytest inside pytest)."""

from __future__ import annotations

import textwrap

import pytest

from ibs.scenarios import pytest_plugin
from ibs.scenarios.loader import ScenarioError, load

PASSING = textwrap.dedent("""\
    [scenario]
    name = "port 445 blocked then lifted"
    tags = ["firewall"]
    hub = 4
    days = 2.02
    seed = 11

    [[events]]
    at = "1h"
    do = "block_port_445"
    action = "reject"

    [[events]]
    at = "30h"
    do = "unblock_port_445"

    [expect]
    backups = { Succeeded = 2, Failed = 2 }
    alerts_raised = ["Connectivity"]
    """)

FAILING = PASSING.replace("Succeeded = 2, Failed = 2", "Succeeded = 4, Failed = 0") \
    .replace("port 445 blocked then lifted", "expects too much")

BAD = textwrap.dedent("""\
    [scenario]
    name = "bad"
    hub = 4
    days = 1

    [[events]]
    at = "1h"
    do = "explode_the_share"
    """)


def test_plugin_is_registered_by_entry_point(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.get_plugin("ibs") is pytest_plugin


def test_fixtures_work_in_a_users_test_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=r'''
        import socket
        from ibs.fake_smb.server import FakeSmbServer
        from ibs.simulator.hub import Hub

        def test_fake_smb_server(fake_smb_server):
            assert isinstance(fake_smb_server.server, FakeSmbServer)
            assert fake_smb_server.unc == "\\\\127.0.0.1\\backup\\ibs"
            assert fake_smb_server.folder_dir.is_dir()
            assert fake_smb_server.user and fake_smb_server.password
            with socket.create_connection(("127.0.0.1", fake_smb_server.port), timeout=2):
                pass

        def test_engine_backs_up_over_smb(ibs_engine, fake_smb_server):
            ctl = ibs_engine.controller
            ctl.configure(path=fake_smb_server.unc, smb_port=fake_smb_server.port,
                          username=fake_smb_server.user, password=fake_smb_server.password)
            record = ibs_engine.backup()
            assert record.status == "Succeeded", record.error
            assert any(fake_smb_server.folder_dir.rglob("*"))

        def test_engine_local(ibs_engine):
            record = ibs_engine.backup()
            assert record.status == "Succeeded"
            assert set(ibs_engine.sources) == {"CA", "ECE"}
            assert ibs_engine.key.thumbprint
            ibs_engine.controller.verify(record.id, ibs_engine.key)

        def test_simulated_hub(simulated_hub):
            hub = simulated_hub(days=1.02, frequency_hours=6)
            assert isinstance(hub, Hub)
            assert [r.status for r in hub.ctl.backups()] == ["Succeeded"] * 4
            asdk = simulated_hub("asdk", seed=3)
            assert asdk.profile.asdk and asdk.env.now == 0
            small = simulated_hub(16, identity="AzureAD")
            assert small.profile.nodes == 16
    ''')
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_samba_server_skips_or_fails_when_samba_is_missing(pytester: pytest.Pytester,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeconftest('''
        import pytest
        from ibs.fake_smb.samba import SambaServer

        @pytest.fixture(autouse=True)
        def no_samba(monkeypatch):
            monkeypatch.setattr(SambaServer, "available", staticmethod(lambda: False))
    ''')
    pytester.makepyfile(test_samba='''
        def test_needs_samba(samba_server):
            raise AssertionError("must not run")
    ''')
    monkeypatch.delenv("IBS_REQUIRE_SAMBA", raising=False)
    pytester.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(skipped=1)
    monkeypatch.setenv("IBS_REQUIRE_SAMBA", "1")
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*IBS_REQUIRE_SAMBA=1 but*"])


def test_samba_server_when_available(pytester: pytest.Pytester) -> None:
    from ibs.fake_smb.samba import SambaServer

    if not SambaServer.available():
        pytest.skip("Samba is not available here")
    pytester.makepyfile(test_samba=r'''
        import socket
        from ibs.fake_smb.samba import SambaServer

        def test_samba(samba_server):
            assert isinstance(samba_server.server, SambaServer)
            assert samba_server.unc == "\\\\127.0.0.1\\backup\\ibs"
            with socket.create_connection(("127.0.0.1", samba_server.port), timeout=2):
                pass
    ''')
    pytester.runpytest("-q", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_scenario_files_are_collected_and_reported(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", scenario_good=PASSING, scenario_bad_expectations=FAILING)
    (pytester.path / "lifted.scenario.toml").write_text(PASSING)
    (pytester.path / "notes.toml").write_text("not = 'a scenario'\n")  # not collected
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*scenario_good.toml::scenario_good PASSED*"])
    result.stdout.fnmatch_lines(["*lifted.scenario.toml::lifted PASSED*"])
    result.stdout.fnmatch_lines([
        "*scenario 'expects too much' failed (seed 11, fidelity sim)*",
        "*FAILED backups Succeeded: expected 4, got 2*",
        "*FAILED backups Failed: expected 0, got 2*",
        "replay: ibs run scenario_bad_expectations.toml --seed 11 --fidelity sim",
    ])
    assert "notes" not in result.stdout.str()


def test_scenario_tags_select_with_k(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", scenario_good=PASSING)
    pytester.runpytest("-q", "-p", "no:cacheprovider", "-k", "firewall").assert_outcomes(passed=1)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", "-k", "dns")
    result.assert_outcomes(deselected=1)


def test_a_bad_scenario_file_reports_file_line_key(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", scenario_broken=BAD)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.re_match_lines([r"scenario_broken\.toml:8: events\[1\]\.do: unknown action 'explode_the_share'"])
    assert "Traceback" not in result.stdout.str()


def test_invalid_toml_reports_its_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", scenario_syntax="[scenario]\nname = \"x\"\nhub = = 4\n")
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["scenario_syntax.toml:3: not valid TOML*"])


def test_a_scenario_file_failing_otherwise_is_a_collection_error(pytester: pytest.Pytester) -> None:
    """Errors other than ScenarioError go through pytest's own report, not an internal error."""
    (pytester.path / "scenario_binary.toml").write_bytes(b"\xff\xfe not text")
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*scenario_binary.toml*UnicodeDecodeError*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_ibs_fidelity_overrides_the_files_fidelity(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('''
        import pytest

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(item, call):
            outcome = yield
            if call.when == "call" and getattr(item, "result", None) is not None:
                print(f"\\nRAN {item.name} AT {item.result.fidelity}")
    ''')
    pytester.makefile(".toml", scenario_good=PASSING)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--ibs-fidelity", "wire")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*RAN scenario_good AT wire*"])
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*RAN scenario_good AT sim*"])
    failing = pytester.makefile(".toml", scenario_bad_expectations=FAILING)
    result = pytester.runpytest("-p", "no:cacheprovider", "--ibs-fidelity=wire", str(failing))
    result.stdout.fnmatch_lines(["replay: ibs run scenario_bad_expectations.toml --seed 11 --fidelity wire"])
    result = pytester.runpytest("-p", "no:cacheprovider", "--ibs-fidelity=fast")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*--ibs-fidelity*invalid choice*"])


def test_assert_scenario(tmp_path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(PASSING)
    result = pytest_plugin.assert_scenario(good)
    assert result.passed and len(result.backups) == 4
    assert pytest_plugin.assert_scenario(load(good), seed=11, fidelity="wire").fidelity == "wire"
    bad = tmp_path / "bad.toml"
    bad.write_text(FAILING)
    with pytest.raises(AssertionError) as caught:
        pytest_plugin.assert_scenario(bad, seed=12)
    message = str(caught.value)
    assert "FAILED backups Succeeded: expected 4, got 2" in message
    assert f"replay: ibs run {bad} --seed 12 --fidelity sim" in message
    broken = tmp_path / "broken.toml"
    broken.write_text(BAD)
    with pytest.raises(ScenarioError, match=r"broken\.toml:8: events\[1\]\.do"):
        pytest_plugin.assert_scenario(broken)


def test_assert_scenario_in_a_users_test(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", good=PASSING, bad=FAILING)
    pytester.makepyfile(test_mine='''
        from ibs.scenarios.pytest_plugin import assert_scenario

        def test_good():
            assert_scenario("good.toml")

        def test_bad():
            assert_scenario("bad.toml", seed=5)
    ''')
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*replay: ibs run bad.toml --seed 5 --fidelity sim*"])
