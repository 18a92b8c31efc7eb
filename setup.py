"""Build LayerLab, including the Cython kernels in core_ext/ (every core_ext/_*.pyx).

Compiler directives are set once here. LAYERLAB_CYTHON_DEBUG=1 turns bounds and wraparound
checks back on for debugging a kernel.
"""

import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("LAYERLAB_CYTHON_DEBUG") == "1"
DIRECTIVES = {"language_level": 3, "boundscheck": DEBUG, "wraparound": DEBUG,
              "initializedcheck": DEBUG, "cdivision": not DEBUG}

extensions = [
    Extension(f"core_ext.{pyx.stem}", [str(pyx)], include_dirs=[numpy.get_include()],
              define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                             ("NPY_TARGET_VERSION", "NPY_1_22_API_VERSION")],  # NEP 49 handlers
              extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"])
    for pyx in sorted(Path("core_ext").glob("_*.pyx"))
]

setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES))
