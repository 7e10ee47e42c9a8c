"""The alert book a controller reads back says what it saved, in a private store too, where it is
made from the JSON kept in memory rather than read and checked again at every job's end."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ibs.engine.alerts import Alert, AlertBook
from ibs.engine.clock import SystemClock
from ibs.engine.controller import Controller
from ibs.engine.errors import AlertCategory
from ibs.engine.store import Store

texts = st.text(max_size=40)
alerts = st.builds(Alert, category=st.sampled_from([c.value for c in AlertCategory]),
                   title=texts, message=texts, remediation=texts, raisedDateTime=texts,
                   clearedDateTime=st.none() | texts, backupId=st.none() | texts,
                   occurrences=st.integers(1, 10**6))


@settings(max_examples=100)
@given(alerts)
def test_an_alert_is_saved_as_asdict_gives_it(alert: Alert) -> None:
    saved = alert.to_json()
    assert saved == dataclasses.asdict(alert)
    assert list(saved) == [f.name for f in dataclasses.fields(Alert)]  # the file's key order


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(AlertCategory)), st.booleans()), max_size=12),
       st.booleans())
def test_the_book_read_back_is_the_book_saved(tmp_path_factory, steps, private) -> None:
    root = tmp_path_factory.mktemp("store")
    ctl = Controller(Store(str(root), durable=False, private=private), SystemClock())
    for i, (category, clear) in enumerate(steps):
        book = ctl.alert_book()
        if clear:
            book.clear_all(f"t{i}")
        else:
            book.raise_alert(category, f"fault {i}", f"t{i}", None)
        ctl.save_alerts(book)
        expected = book.to_json()
        again = ctl.alert_book()
        assert again.to_json() == expected
        # What a fresh reader of the file finds, checked field by field.
        on_disk = json.loads((root / "alerts.json").read_text())
        assert AlertBook.from_json(on_disk).to_json() == expected
        # A change to a book read, never saved, does not reach the next read.
        for alert in again.alerts:
            alert.occurrences += 100
            alert.message = "changed and not saved"
        assert ctl.alert_book().to_json() == expected
