"""The one compiled module; everything else about the package is in pyproject.toml.

Plain sheet rows are read in C (app/importing/readers/_rowscan.c, see sheet_rows.py), several times faster
than the regular expressions that read them otherwise. The module is optional: without a C compiler the
package still installs, and reads every sheet in Python.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "app.importing.readers._rowscan",
            sources=["app/importing/readers/_rowscan.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
