"""Plugin commands (the ``ibs.commands`` entry points): only the chosen one is imported, and
one that does not import breaks its own command only."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ibs.engine.cli import app

GROUP = app.PLUGIN_GROUP
# A module that does not exist: loading it raises ModuleNotFoundError, an ImportError.
BROKEN = EntryPoint(name="simulate", value="tests.engine.no_such_plugin_module:register", group=GROUP)


def _raising_register(sub) -> None:
    sub.add_parser("half-done")
    raise ImportError("cannot import name 'Hub' from 'ibs.simulator.hub'")


RAISES_IN_REGISTER = EntryPoint(name="half-done", value=f"{__name__}:_raising_register", group=GROUP)
WORKING = EntryPoint(name="serve-rp", value="ibs.engine.rp.cli:register", group=GROUP)


@pytest.fixture
def plugins(monkeypatch):
    """Replace the installed plugins with the given entry points."""

    def use(*eps: EntryPoint) -> None:
        monkeypatch.setattr(app, "entry_points", lambda group: [e for e in eps if e.group == group])

    return use


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = app.main(argv)
    except SystemExit as exc:  # argparse's --help and usage errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_broken_plugin_does_not_break_the_engines_commands(plugins, tmp_path, capsys) -> None:
    plugins(BROKEN, RAISES_IN_REGISTER, WORKING)
    code, out, err = run(["--store", str(tmp_path / "store"), "backup", "list"], capsys)
    assert (code, err) == (0, "")
    assert "no backups yet" in out


def test_a_broken_plugin_breaks_its_own_command_in_one_line(plugins, tmp_path, capsys) -> None:
    plugins(BROKEN, RAISES_IN_REGISTER, WORKING)
    for name, cause in (("simulate", "ModuleNotFoundError"), ("half-done", "ImportError: cannot import")):
        code, _out, err = run(["--store", str(tmp_path), name, "--days", "3"], capsys)
        assert code == 1
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"command '{name}' is unavailable" in err and cause in err


def test_only_the_chosen_plugin_is_imported(plugins, tmp_path, capsys, monkeypatch) -> None:
    loaded = []
    real_load = EntryPoint.load
    monkeypatch.setattr(EntryPoint, "load", lambda self: (loaded.append(self.name), real_load(self))[1])
    plugins(BROKEN, WORKING)
    code, out, _err = run(["--store", str(tmp_path), "serve-rp", "--help"], capsys)
    assert code == 0 and "usage: ibs serve-rp" in out
    assert loaded == ["serve-rp"]


def test_help_lists_every_command_and_marks_a_broken_one(plugins, capsys) -> None:
    plugins(BROKEN, WORKING)
    code, out, _err = run(["--help"], capsys)
    assert code == 0
    assert "serve the Backup Resource Provider API" in out  # the working plugin's own help
    assert "simulate" in out and "unavailable" in out


def test_a_mistyped_command_lists_the_plugin_commands_too(plugins, capsys) -> None:
    plugins(BROKEN, WORKING)
    code, _out, err = run(["bakup"], capsys)
    assert code == 2 and "'simulate'" in err and "'serve-rp'" in err and "'backup'" in err


_WORDS = st.sampled_from(["backup", "simulate", "list", "-h", "--json", "x", "--", "-", "--store",
                          "--st", "--store=a", "--sto=simulate"])


@given(store=st.one_of(st.none(), st.sampled_from(["d", "simulate", "=x"])),
       flag=st.sampled_from(["--store", "--stor", "--s"]),
       command=st.sampled_from(["backup", "simulate", "serve-rp", "config"]),
       rest=st.lists(_WORDS, max_size=4))
def test_the_chosen_command_is_the_one_argparse_picks(store, flag, command, rest) -> None:
    argv = ([flag, store] if store is not None else []) + [command] + rest
    parser = app._Parser(prog="ibs", add_help=False)
    parser.add_argument("--store")
    sub = parser.add_subparsers(dest="command")
    for name in ("backup", "simulate", "serve-rp", "config"):
        sub.add_parser(name, add_help=False).add_argument("rest", nargs="*")
    picked, _ = parser.parse_known_args(argv)
    assert app.chosen_command(argv) == picked.command
