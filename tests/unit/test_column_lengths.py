"""A specification's length limits are its tables' column lengths: a value the validation passes is one the
tables can store, and every bounded column has a limit the validation names (not a database error)."""

from __future__ import annotations

import pytest
from sqlalchemy import String

from app.importing.writers.registry import WRITERS
from specifications import ImportType, specifications_for
from specifications.model import ColumnKind

# Kinds whose reader refuses a longer value already: an email past 254 characters, a code of another length.
BOUNDED_BY_KIND = {ColumnKind.EMAIL: 254, ColumnKind.CURRENCY: 3, ColumnKind.COUNTRY: 2}


@pytest.mark.parametrize("import_type", [kind for kind in ImportType if kind is not ImportType.ASSET])
def test_every_bounded_column_is_checked_to_the_length_of_its_table(import_type: ImportType) -> None:
    staging = WRITERS[import_type].staging  # staged with the target tables' types
    bounded = [
        (column, column_type.length)
        for column in specifications_for(import_type)[0].columns
        if column.field in staging.c
        and isinstance(column_type := staging.c[column.field].type, String)
        and column_type.length is not None
    ]

    assert bounded, "some column of each type is bounded"
    for column, length in bounded:
        if column.kind in BOUNDED_BY_KIND:
            assert BOUNDED_BY_KIND[column.kind] <= length, column.header
        else:
            assert column.length_limit == length, column.header
