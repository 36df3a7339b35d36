"""Build the compiled hot paths.

Each extension is listed by name.  ``FASTRDD_PUREPYTHON=1`` at build time
skips them all, leaving the pure-Python twins (the package works, slower).
Directives live in each ``.pyx`` header; ``FASTRDD_CYTHON_ANNOTATE=1``
writes the HTML annotation next to each source for profiling.
"""
import os

from setuptools import Extension, setup

EXTENSIONS = [
    Extension("fastrdd._shuffle", ["fastrdd/_shuffle.pyx"]),
    Extension("fastrdd._serde", ["fastrdd/_serde.pyx"]),
    Extension("fastrdd._core.blockstore", ["fastrdd/_core/blockstore.pyx"]),
    Extension("fastrdd._core.iterators", ["fastrdd/_core/iterators.pyx"]),
    Extension("fastrdd._core.sums", ["fastrdd/_core/sums.pyx"]),
]


def _extensions():
    if os.environ.get("FASTRDD_PUREPYTHON"):
        return []
    from Cython.Build import cythonize

    return cythonize(
        EXTENSIONS,
        annotate=bool(os.environ.get("FASTRDD_CYTHON_ANNOTATE")),
        compiler_directives={"language_level": 3},
    )


setup(ext_modules=_extensions())
