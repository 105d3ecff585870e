"""How hard the heaviest property and fuzz tests look: IMPORTER_TEST_DEPTH multiplies their examples.

The default keeps the suite within its ten minutes; a change to the compiled readers or the API deserves a
deeper run, for instance `IMPORTER_TEST_DEPTH=10 ./scripts/test -k "scan or fuzz"`."""

from __future__ import annotations

import os

DEPTH = float(os.environ.get("IMPORTER_TEST_DEPTH", "1") or "1")


def examples(count: int) -> int:
    """`count` examples at the default depth, scaled by IMPORTER_TEST_DEPTH."""
    return max(1, round(count * DEPTH))
