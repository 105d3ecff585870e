"""The compiled modules; everything else about the package is in pyproject.toml.

Plain sheet rows are read in C (app/importing/readers/_rowscan.c, see sheet_rows.py), several times faster
than the regular expressions that read them otherwise, and the normalized records of a sheet, JSON or ZIP
are written in C (app/importing/_records.c, see normalized.py), several times faster than the csv module.
A sheet's plain rows may also be written straight to those records by the row scan (scan_records). A CSV's
plain blocks are surveyed for the plan in C (app/importing/_csvscan.c, see csv_cutting.py), four times
faster than the regular expressions and decode that do it otherwise. All are optional: without a C
compiler the package still installs, and does each in Python.
"""

from setuptools import Extension, setup

SHARED = "app/importing/_cell_text.h"  # what both write of a cell's text
COMPILED = {
    "app.importing.readers._rowscan": "app/importing/readers/_rowscan.c",
    "app.importing._records": "app/importing/_records.c",
    "app.importing._csvscan": "app/importing/_csvscan.c",
}

setup(
    ext_modules=[
        Extension(name, sources=[source], depends=[SHARED], optional=True, extra_compile_args=["-O2"])
        for name, source in COMPILED.items()
    ]
)
