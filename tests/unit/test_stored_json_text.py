"""Attributes, options, images and translations are stored as JSON text that never changes form: a row
imported again with the same values compares equal to the stored one and is counted unchanged."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from app.importing.writers.upsert import json_text

TEXT = st.text(max_size=40)
FAMILY = st.dictionaries(TEXT, TEXT, max_size=6)
IMAGES = st.lists(st.fixed_dictionaries({"key": st.none() | TEXT, "url": TEXT}), max_size=4)
TRANSLATIONS = st.dictionaries(TEXT, st.dictionaries(TEXT, TEXT, max_size=3), max_size=3)


def canonical(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@given(value=st.one_of(FAMILY, IMAGES, TRANSLATIONS))
def test_the_stored_text_is_compact_sorted_json_with_non_ascii_kept(value: object) -> None:
    stored = json_text(value)

    assert stored == (canonical(value) if value else None)
    assert stored is None or json.loads(stored) == value


def test_an_empty_family_is_stored_as_nothing() -> None:
    assert json_text({}) is None
    assert json_text({"Color": "Café \u2028 \x01"}) == '{"Color":"Café \u2028 \\u0001"}'
