"""The manifest's fast paths give exactly what json and strptime give (docs/FORMAT.md, "Manifest").

A manifest's bytes are its identity: one byte of difference fails every existing backup's
canonical-form check, so the hand-built indented JSON must equal json.dumps everywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine import manifest
from ibs.engine.errors import IntegrityError
from ibs.engine.manifest import Manifest, RoleRecord, file_form, format_time, parse, parse_time

_leaves = (st.none() | st.booleans() | st.integers() | st.text()
           | st.floats(allow_nan=True, allow_infinity=True))
_json = st.recursive(
    _leaves,
    lambda inner: (st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
                   | st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=30,
)


@given(st.dictionaries(st.text(max_size=8), _json, max_size=6))
def test_file_form_is_json_dumps_indented_sorted(body):
    assert file_form(body) == json.dumps(body, indent=2, sort_keys=True).encode("ascii") + b"\n"


_flat = st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=6), max_size=5)


@given(st.dictionaries(st.text(max_size=8), _flat | st.lists(_flat, max_size=3) | st.dictionaries(
    st.text(max_size=4), st.lists(_flat, max_size=2), max_size=2), max_size=5))
def test_file_form_of_flat_records_at_any_depth_is_json_dumps(body):
    # Records of str and int (a manifest's roles) take their own path through file_form.
    assert file_form(body) == json.dumps(body, indent=2, sort_keys=True).encode("ascii") + b"\n"


@given(st.dictionaries(st.integers() | st.booleans() | st.none(), st.integers(), min_size=1))
def test_file_form_with_keys_that_are_not_strings_follows_json(body):
    try:
        expected = json.dumps({"k": body}, indent=2, sort_keys=True).encode("ascii") + b"\n"
    except TypeError:
        with pytest.raises(TypeError):
            file_form({"k": body})
    else:
        assert file_form({"k": body}) == expected


def test_file_form_of_a_cycle_raises_as_json_does():
    body: dict = {"a": []}
    body["a"].append(body)
    with pytest.raises(ValueError, match="Circular"):
        file_form(body)


def _strptime(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


@given(st.datetimes(min_value=dt.datetime(1000, 1, 1), timezones=st.just(dt.UTC)))
def test_parse_time_reads_what_format_time_writes(t):
    assert parse_time(format_time(t)) == t == _strptime(format_time(t))


@given(st.datetimes(timezones=st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-8))])))
def test_format_time_writes_what_strftime_would_in_utc(t):
    # format_time is written out by hand for speed; strftime is the spelling it must keep, with
    # the four year digits FORMAT.md asks for (glibc's %Y does not pad years below 1000).
    try:
        u = t.astimezone(dt.UTC)
        expected = f"{u.year:04d}" + u.strftime("-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:  # an instant beyond year 1..9999 once in UTC
        with pytest.raises(OverflowError):
            format_time(t)
        return
    assert format_time(t) == expected


class _Later(dt.datetime):
    pass


@given(st.datetimes(min_value=dt.datetime(1000, 1, 1), timezones=st.sampled_from(
    [dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))])), st.booleans(), st.booleans())
def test_the_time_just_written_reads_and_writes_again_as_ever(t, fold, subclass):
    # format_time remembers the instant it wrote last: parse_time of its text, and format_time
    # of that instant again, give what they give without it, to the type, zone and fold.
    t = t.replace(fold=int(fold))
    if subclass:
        t = _Later(*t.timetuple()[:6], t.microsecond, tzinfo=t.tzinfo, fold=t.fold)
    text = format_time(t)
    again, got = format_time(t), parse_time(text)
    manifest._last_time = (None, "")  # forgotten: the plain paths
    plain = parse_time(text)
    assert again == text == format_time(t)
    assert (got, type(got), got.tzinfo, got.fold) == (plain, type(plain), plain.tzinfo, plain.fold)


_FIELDS = ((9999, 4, (3, 5)), (13, 2, (1, 3)), (32, 2, (1, 3)), (24, 2, (1,)), (60, 2, (1,)),
           (62, 2, (1,)), (999999, 6, (1, 3, 7)))


@st.composite
def _almost_times(draw):
    # format_time's shape with numbers near (and past) the valid ranges, and at most one field
    # of another width or one separator of another case: the strings a fast path could misread.
    odd = draw(st.integers(-1, len(_FIELDS) + 1))
    parts = []
    for i, (top, width, others) in enumerate(_FIELDS):
        n = draw(st.integers(0, top))
        parts.append(str(n).zfill(draw(st.sampled_from(others)) if i == odd else width))
    t = "t" if odd == len(_FIELDS) else "T"
    z = draw(st.sampled_from(["z", ""])) if odd == len(_FIELDS) + 1 else "Z"
    y, mo, d, h, mi, s, f = parts
    return f"{y}-{mo}-{d}{t}{h}:{mi}:{s}.{f}{z}"


_ONE_SPELLING = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


@given(_almost_times())
def test_parse_time_accepts_format_times_one_spelling_of_a_real_instant_only(text):
    # FORMAT.md: createdDateTime has exactly format_time's shape; strptime judges the instant.
    try:
        expected = _strptime(text) if _ONE_SPELLING.fullmatch(text) else None
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(IntegrityError):
            parse_time(text)
    else:
        got = parse_time(text)
        assert got == expected and got.tzinfo == expected.tzinfo


@given(st.dictionaries(st.text(max_size=8), _json, max_size=6))
def test_a_remembered_form_is_the_form_of_what_it_parses_to(body):
    # parse() trusts remembered forms without rebuilding them: that holds only if a form, read
    # back, gives itself again.
    data = file_form(body)
    if data in manifest._CANONICAL:
        assert file_form(json.loads(data)) == data
    assert len(manifest._CANONICAL) <= manifest._CANONICAL_KEEP


@given(st.sampled_from([{"indent": 4, "sort_keys": True}, {"indent": 2},
                        {"indent": 2, "sort_keys": True, "separators": (", ", ": ")}]))
def test_a_manifest_in_another_layout_is_refused_even_just_after_writing_it(layout):
    m = Manifest(backupId=uuid.UUID(int=7), createdDateTime=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                 encryptionCertThumbprint="A" * 40, wrappedKey=b"k" * 256, chunkSize=65536,
                 roles=(RoleRecord("ACS", "roles/ACS.ibsr", 11, 41, 1, "1" * 64, 4, 6),
                        RoleRecord("CA", "roles/CA.ibsr", 10, 40, 1, "0" * 64, 3, 5)),
                 info={"stampVersion": "1"})
    data = m.to_bytes(b"k" * 32)
    assert parse(data).verify(b"k" * 32) == m
    other = json.dumps(json.loads(data), **layout).encode("ascii") + b"\n"
    if other != data:
        with pytest.raises(IntegrityError, match="canonical"):
            parse(other)


_ROLE_KEYS = ["name", "file", "plaintextBytes", "storedBytes", "chunks", "sha256", "entries",
              "fileBytes"]


def _outcome(data: bytes):
    try:
        return parse(data).manifest
    except IntegrityError as exc:
        return str(exc)


@given(st.lists(st.dictionaries(
    st.sampled_from([*_ROLE_KEYS, "extra"]),
    st.one_of(st.integers(-2, 2**40), st.booleans(), st.none(), st.sampled_from(["CA", "ACS"]),
              st.sampled_from(["roles/CA.ibsr", "roles/ACS.ibsr", "0" * 64])),
    min_size=6), min_size=1, max_size=3))
def test_parse_reads_role_entries_as_the_field_by_field_checks_do(monkeypatch_roles):
    body = {"formatVersion": 1, "backupId": str(uuid.UUID(int=1)),
            "createdDateTime": "2026-01-01T00:00:00.000000Z",
            "encryptionCertThumbprint": "A" * 40,
            "keyWrap": {"algorithm": "RSA-OAEP-SHA256", "wrappedKey": "a2V5"},
            "cipher": "AES-256-GCM", "compression": "zstd", "chunkSize": 65536,
            "roles": monkeypatch_roles, "info": {}, "mac": "0" * 64}
    data = file_form(body)
    fast = _outcome(data)
    saved = manifest._ROLE_TYPES
    manifest._ROLE_TYPES = (object,) * len(saved)  # no entry passes: every one checked by field
    try:
        slow = _outcome(data)
    finally:
        manifest._ROLE_TYPES = saved
    assert fast == slow


@pytest.mark.parametrize("figure", [-1, 2**63])
def test_a_role_figure_outside_a_signed_64_bit_integer_is_refused(figure):
    # The fast path for role entries must keep the range check of the field-by-field one.
    key = b"k" * 32
    m = Manifest(backupId=uuid.UUID(int=7), createdDateTime=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                 encryptionCertThumbprint="A" * 40, wrappedKey=b"k" * 256, chunkSize=65536,
                 roles=(RoleRecord("CA", "roles/CA.ibsr", 10, 40, 1, "0" * 64, 3, 5),),
                 info={"stampVersion": "1"})
    body = json.loads(m.to_bytes(key))
    del body["mac"]
    body["roles"][0]["fileBytes"] = figure
    body["mac"] = manifest.mac(key, body)
    with pytest.raises(IntegrityError):
        parse(manifest.file_form(body))


def _json_signed(m: Manifest, key: bytes) -> bytes:
    # FORMAT.md's definition, with the body as Manifest.body gives it.
    body = m.body()
    compact = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")
    body["mac"] = hmac.new(key, b"IBS1 manifest\n" + compact, hashlib.sha256).hexdigest()
    return json.dumps(body, indent=2, sort_keys=True).encode("ascii") + b"\n"


_figure = st.integers(-(2**70), 2**70)
_text = st.text(max_size=6)
_manifests = st.builds(
    Manifest, backupId=st.uuids(), createdDateTime=st.datetimes(
        min_value=dt.datetime(1000, 1, 1), timezones=st.just(dt.UTC)),
    encryptionCertThumbprint=_text, wrappedKey=st.binary(max_size=300), chunkSize=_figure,
    roles=st.lists(st.builds(RoleRecord, _text, _text, _figure, _figure, _figure, _text, _figure,
                             _figure), max_size=3).map(tuple),
    info=st.dictionaries(_text, _text, max_size=3), formatVersion=_figure)


@given(_manifests, st.binary(min_size=1, max_size=40))
def test_to_bytes_is_the_json_form_of_the_body_with_its_mac(m, key):
    # to_bytes writes its texts from the values, not through json: this holds the two together.
    assert m.to_bytes(key) == _json_signed(m, key)


# Texts of the characters at the edges of what json writes as it is (quote, backslash, control
# characters, DEL, non-ASCII, a lone surrogate) and of what it does: manifest_text writes a text
# as it is only when json would.
_edgy = st.text(st.sampled_from(['"', "\\", "\x00", "\x1f", " ", "~", "\x7f", "\x80", "\u00e9",
                                 "\u2028", "\ud800", "a", "/"]), max_size=4)


@given(st.builds(
    Manifest, backupId=st.uuids(), createdDateTime=st.just(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
    encryptionCertThumbprint=_edgy, wrappedKey=st.binary(max_size=8), chunkSize=_figure,
    roles=st.lists(st.builds(RoleRecord, _edgy, _edgy, _figure, _figure, _figure, _edgy, _figure,
                             _figure), max_size=2).map(tuple),
    info=st.dictionaries(_edgy, _edgy, max_size=2)), st.binary(min_size=1, max_size=8))
def test_to_bytes_writes_each_text_as_json_does(m, key):
    assert m.to_bytes(key) == _json_signed(m, key)


# Values no writer gives, which json writes its own way (a bool as true, a float as 1.0).
_odd = (st.booleans() | st.floats(allow_nan=False) | st.none()
        | st.integers(0, 9).map(lambda n: type("Figure", (int,), {})(n)))


@given(_manifests, _odd, st.sampled_from(["chunkSize", "formatVersion", "thumbprint", "info",
                                          *_ROLE_KEYS]), st.binary(min_size=1, max_size=40))
def test_to_bytes_of_a_value_of_another_type_is_still_the_json_form(m, odd, where, key):
    if where == "thumbprint":
        m = dataclasses.replace(m, encryptionCertThumbprint=odd)
    elif where == "info":
        m = dataclasses.replace(m, info={**m.info, "odd": odd})
    elif where in _ROLE_KEYS:
        role = RoleRecord("CA", "roles/CA.ibsr", 10, 40, 1, "0" * 64, 3, 5)
        m = dataclasses.replace(m, roles=(*m.roles, dataclasses.replace(role, **{where: odd})))
    else:
        m = dataclasses.replace(m, **{where: odd})
    assert m.to_bytes(key) == _json_signed(m, key)


_MEMBERS = ("backupId", "chunkSize", "cipher", "compression", "createdDateTime",
            "encryptionCertThumbprint", "formatVersion", "info", "keyWrap", "mac", "roles")
_role_bodies = st.fixed_dictionaries({
    "chunks": _figure, "entries": _figure, "file": _text, "fileBytes": _figure, "name": _text,
    "plaintextBytes": _figure, "sha256": _text, "storedBytes": _figure})
_bodies = st.fixed_dictionaries({
    "backupId": _text, "chunkSize": _figure, "cipher": st.just("AES-256-GCM"),
    "compression": st.just("zstd"), "createdDateTime": _text, "encryptionCertThumbprint": _text,
    "formatVersion": _figure, "info": st.dictionaries(_text, _text, max_size=3),
    "keyWrap": st.fixed_dictionaries({"algorithm": st.just("RSA-OAEP-SHA256"),
                                      "wrappedKey": _text}),
    "mac": _text, "roles": st.lists(_role_bodies, max_size=3)})
# Where a body may differ from what a writer makes: a member's value (or a nested one), a
# member missing, one more member.
_PLACES = [*_MEMBERS, *(f"keyWrap.{k}" for k in ("algorithm", "wrappedKey", "x")),
           *(f"roles.{k}" for k in (*_ROLE_KEYS, "x")), "info.x", "extra",
           *(f"-{m}" for m in _MEMBERS)]


@given(_bodies)
def test_file_form_of_a_manifest_body_is_json_dumps(body):
    # A manifest's members are written by manifest_text, not json: the bytes are json's.
    data = file_form(body)
    assert data == json.dumps(body, indent=2, sort_keys=True).encode("ascii") + b"\n"
    assert data in manifest._CANONICAL  # written by manifest_text, which remembers it


@given(_bodies, _edgy)
def test_file_form_writes_the_mac_text_as_json_does(body, tag):
    body["mac"] = tag
    assert file_form(body) == json.dumps(body, indent=2, sort_keys=True).encode("ascii") + b"\n"


@pytest.mark.parametrize("place", _PLACES)
@settings(max_examples=15)
@given(body=_bodies, value=_odd | _json)
def test_file_form_of_a_body_unlike_a_writers_is_json_dumps(place, body, value):
    if place.startswith("-"):
        del body[place[1:]]
    elif place.startswith("roles."):
        role = {"chunks": 1, "entries": 2, "file": "f", "fileBytes": 3, "name": "n",
                "plaintextBytes": 4, "sha256": "h", "storedBytes": 5}  # as a writer makes it
        body["roles"].append({**role, place[6:]: value})
    elif "." in place:
        outer, inner = place.split(".")
        body[outer][inner] = value
    else:
        body[place] = value
    assert file_form(body) == json.dumps(body, indent=2, sort_keys=True).encode("ascii") + b"\n"
