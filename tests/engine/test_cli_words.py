"""The pieces of issue 17's command line that need no process: id prefixes, durations and dates
for people, remediation text, the old option names."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ibs.engine.alerts import Where, remediation
from ibs.engine.cli.app import build_parser
from ibs.engine.cli.human import plain, when
from ibs.engine.cli.ids import resolve_id
from ibs.engine.errors import AlertCategory, BadInput
from ibs.engine.units import human_duration, iso_duration_seconds

ids = st.lists(st.uuids(version=4).map(str), min_size=1, max_size=12, unique=True)


@given(ids, st.data())
def test_a_unique_prefix_names_its_id(known, data):
    target = data.draw(st.sampled_from(known))
    n = data.draw(st.integers(1, 36))
    prefix = target[:n]
    starting = [i for i in known if i.startswith(prefix)]
    if len(starting) == 1:
        assert resolve_id(prefix.upper(), known) == target
    else:
        with pytest.raises(BadInput) as exc:
            resolve_id(prefix, known)
        message = str(exc.value)
        assert "\n" not in message and f"start of {len(starting)}" in message
        assert all(i in message for i in sorted(starting)[:5])


@given(ids, st.text("0123456789abcdef", min_size=1, max_size=8))
def test_a_prefix_of_nothing_is_refused_in_one_line(known, prefix):
    assume(not any(i.startswith(prefix) for i in known))
    with pytest.raises(BadInput, match=f"^no backup id starts with {prefix}; "):
        resolve_id(prefix, known)


def test_ids_that_are_not_hex_and_whole_ids():
    known = ["0a000000-0000-4000-8000-000000000000", "0b000000-0000-4000-8000-000000000000"]
    with pytest.raises(BadInput, match="is not a backup id"):
        resolve_id("zz", known)
    with pytest.raises(BadInput, match="^0 is the start of 2 backup ids"):
        resolve_id("0", known)
    other = str(uuid.UUID(int=5, version=4))
    with pytest.raises(BadInput, match=f"no backup with id {other}"):
        resolve_id(other, known)
    assert resolve_id(other, known, any_whole=True) == other


# --- durations and dates ----------------------------------------------------------------------

_UNIT = {"d": 86400, "h": 3600, "min": 60, "s": 1}


def _seconds(text: str) -> float:
    parts = re.fullmatch(r"(\d+(?:\.\d)?) (d|h|min|s)(?: (\d+) (h|min|s))?", text)
    assert parts, f"{text!r} is not in the one style"
    n1, u1, n2, u2 = parts.groups()
    total = float(n1) * _UNIT[u1]
    if n2 is not None:
        assert list(_UNIT).index(u2) == list(_UNIT).index(u1) + 1, text  # adjacent units
        assert int(n2) * _UNIT[u2] < _UNIT[u1], text  # and the smaller below its carry
        total += int(n2) * _UNIT[u2]
    return total


@given(st.floats(0, 400 * 86400, allow_nan=False))
def test_a_duration_reads_back_within_its_rounding(seconds):
    text = human_duration(seconds)
    assert "PT" not in text
    back = _seconds(text)
    # two units: the dropped third is below the smaller unit shown
    unit = _UNIT[text.split()[-1]]
    slack = 0.05 if seconds < 10 else unit if len(text.split()) == 4 else max(unit, 1)
    assert abs(back - seconds) <= slack + 0.5


@given(st.floats(0, 400 * 86400, allow_nan=False), st.floats(0, 400 * 86400, allow_nan=False))
def test_durations_keep_their_order(a, b):
    assume(a + 1 < b)
    assert _seconds(human_duration(a)) <= _seconds(human_duration(b))


@pytest.mark.parametrize(("seconds", "text"), [(0.804, "0.8 s"), (799, "13 min 19 s"),
                                               (59.6, "1 min"), (7500, "2 h 5 min"),
                                               (3 * 86400 + 4 * 3600 + 5, "3 d 4 h")])
def test_durations_people_see(seconds, text):
    assert human_duration(seconds) == text


@given(st.integers(0, 99), st.integers(0, 59), st.decimals(0, 59, places=3))
def test_iso_durations_read_back(h, m, s):
    text = "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + f"{s}S"
    assert iso_duration_seconds(text) == pytest.approx(h * 3600 + m * 60 + float(s))


def test_one_date_format_and_no_python_literals():
    assert when("2026-03-01T08:00:00.000000Z") == "2026-03-01 08:00:00 UTC"
    assert when("2026-03-01T09:00:00+01:00") == "2026-03-01 08:00:00 UTC"
    assert when(None) == "-"
    assert [plain(v) for v in (True, False, None, [], {"a": None})] == ["yes", "no", "-", "-", "a: -"]


# --- remediation --------------------------------------------------------------------------------

hosts = st.from_regex(r"[a-z][a-z0-9-]{0,12}(\.[a-z]{2,5})?", fullmatch=True)


@given(hosts, st.integers(1, 65535), st.booleans())
def test_remediation_names_the_configured_host_and_port(host, port, on_hub):
    text = remediation(AlertCategory.CONNECTIVITY, Where(f"\\\\{host}\\backup\\ibs", port, on_hub))
    assert host in text and f"TCP port {port}" in text
    assert set(re.findall(r"port (\d+)", text)) == {str(port)}
    assert ("ERCS" in text) == on_hub


def test_standalone_remediation_never_sends_the_user_to_a_hub():
    where = Where("\\\\127.0.0.1\\backup\\ibs", 1, on_hub=False)
    for category in AlertCategory:
        text = remediation(category, where)
        assert "ERCS" not in text and "privileged endpoint" not in text and "445" not in text


# --- the old option names ------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "dest", "value"), [
    (["simulate", "--hub", "asdk", "--days", "1", "--events", "log.jsonl"],
     "--events-out", "events_out", "log.jsonl"),
    (["sizing", "--envs", "asdk,4-16"], "--hubs", "hubs", "asdk,4-16"),
    (["sizing", "--env", "4-16-aad"], "--hub", "identity", "AzureAD"),
    (["fake-smb", "serve", "--port", "0", "--share", ".", "--user", "u", "--password-file", "p",
      "--quota-bytes", "2000000000"], "--share-capacity-gb", "quota_bytes", 2_000_000_000),
])
def test_old_names_work_hidden_with_one_line(capsys, old, new, dest, value):
    parser = build_parser(old)
    assert getattr(parser.parse_args(old), dest) == value
    flag = next(a for a in old if a.startswith("--") and a not in ("--hub", "--days", "--port",
                                                                     "--share", "--user",
                                                                     "--password-file"))
    assert capsys.readouterr().err == f"ibs: {flag} is now {new}\n"
    path = [w for w in old[:2] if not w.startswith("-")]
    sub = build_parser(path)
    for word in path:
        sub = sub._subparsers._group_actions[0].choices[word]
    shown = sub.format_help()
    assert not re.search(rf"{flag}(?![-\w])", shown) and new in shown


def test_new_capacity_option_of_fake_smb_is_in_gigabytes():
    argv = ["fake-smb", "serve", "--port", "0", "--share", ".", "--user", "u", "--password-file",
            "p", "--share-capacity-gb", "1.5"]
    assert build_parser(argv).parse_args(argv).quota_bytes == 1_500_000_000
