"""The compiled modules; everything else about the package is in pyproject.toml.

Plain sheet rows are read in C (app/importing/readers/_rowscan.c, see sheet_rows.py), several times faster
than the regular expressions that read them otherwise, and the normalized records of a sheet, JSON or ZIP
are written in C (app/importing/_records.c, see normalized.py), several times faster than the csv module.
Both are optional: without a C compiler the package still installs, and does both in Python.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "app.importing.readers._rowscan",
            sources=["app/importing/readers/_rowscan.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "app.importing._records",
            sources=["app/importing/_records.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
