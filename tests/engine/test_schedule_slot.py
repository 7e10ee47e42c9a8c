"""The next slot a controller reports is the one every process sharing its store reads."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine.clock import ManualClock
from ibs.engine.controller import Controller
from ibs.engine.store import Store

_ZONES = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                          dt.timezone(dt.timedelta(hours=-8))])


@settings(max_examples=40, deadline=None)
@given(now=st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2099, 1, 1),
                        timezones=_ZONES),
       hours=st.integers(4, 12))
def test_a_private_store_reports_the_slot_its_file_holds(tmp_path_factory, cert_pair, now, hours):
    # A private store keeps the slot it wrote rather than reading its file back: what it keeps
    # must be what the file says, to the microsecond and in UTC, as another process reads it.
    root = tmp_path_factory.mktemp("s")
    ctl = Controller(Store(str(root / "store"), durable=False, private=True), ManualClock(now))
    ctl.configure(path=str(root), cert=cert_pair.cer, frequency_hours=hours)
    kept = ctl.next_slot()
    read = Controller(Store(str(root / "store"), durable=False), ManualClock(now)).next_slot()
    assert read is not None and kept is not None
    assert (kept, kept.tzinfo, kept.fold) == (read, read.tzinfo, read.fold)
    assert read == now + dt.timedelta(hours=hours)
