"""Build LayerLab, including the Cython kernels in core_ext/ (every core_ext/_*.pyx).

Compiler directives are set once here. LAYERLAB_CYTHON_DEBUG=1 turns bounds and wraparound
checks back on for debugging a kernel.

OpenMP is optional: the extensions in OPENMP (the RoI kernels, whose ``prange`` loops share
their work over threads) get the compiler's OpenMP flag when a tiny OpenMP program compiles and
links with the build's own compiler; otherwise (Apple's clang, a GCC without libgomp) they are
built without it, their loops run on one thread, and the build prints a one-line warning.
LAYERLAB_OPENMP=0 builds without OpenMP anyway; LAYERLAB_OPENMP=1 makes a compiler without it
an error.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError, LinkError

DEBUG = os.environ.get("LAYERLAB_CYTHON_DEBUG") == "1"
DIRECTIVES = {"language_level": 3, "boundscheck": DEBUG, "wraparound": DEBUG,
              "initializedcheck": DEBUG, "cdivision": not DEBUG}
OPENMP = ("core_ext._roi",)  # the extensions that use OpenMP where the compiler has it

OPENMP_PROGRAM = r"""
#include <omp.h>
int main(void) {
    int threads = 0;
    #pragma omp parallel
    {
        #pragma omp atomic
        threads += 1;
    }
    return threads > 0 && omp_get_max_threads() > 0 ? 0 : 1;
}
"""


def openmp_flags(compiler) -> tuple[list[str], list[str]] | None:
    """(compile flags, link flags) that give ``compiler`` (a distutils CCompiler) OpenMP, or
    None when a tiny OpenMP program does not compile and link with them."""
    flags = (["/openmp"], []) if compiler.compiler_type == "msvc" else (["-fopenmp"],
                                                                        ["-fopenmp"])
    with tempfile.TemporaryDirectory(prefix="layerlab-openmp-") as tmp:
        source = Path(tmp) / "openmp_check.c"
        source.write_text(OPENMP_PROGRAM)
        try:
            objects = compiler.compile([str(source)], output_dir=tmp, extra_postargs=flags[0])
            compiler.link_executable(objects, "openmp_check", output_dir=tmp,
                                     extra_postargs=flags[1])
        except (CompileError, LinkError):
            return None
    return flags


class BuildExt(build_ext):
    """build_ext that adds OpenMP to the OPENMP extensions when the compiler has it."""

    def build_extensions(self):
        wanted = [ext for ext in self.extensions if ext.name in OPENMP]
        choice = os.environ.get("LAYERLAB_OPENMP", "")
        flags = openmp_flags(self.compiler) if wanted and choice != "0" else None
        if flags is not None:
            for ext in wanted:
                ext.extra_compile_args = [*ext.extra_compile_args, *flags[0]]
                ext.extra_link_args = [*ext.extra_link_args, *flags[1]]
        elif wanted and choice == "1":
            raise CompileError("LAYERLAB_OPENMP=1, but the C compiler cannot build an OpenMP "
                               "program (-fopenmp)")
        elif wanted:
            why = "LAYERLAB_OPENMP=0" if choice == "0" else \
                "the C compiler cannot build an OpenMP program (-fopenmp)"
            print(f"warning: {why}: {', '.join(e.name for e in wanted)} built without OpenMP "
                  "(its kernels run on one thread)", file=sys.stderr, flush=True)
        super().build_extensions()


extensions = [
    Extension(f"core_ext.{pyx.stem}", [str(pyx)], include_dirs=[numpy.get_include()],
              define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                             ("NPY_TARGET_VERSION", "NPY_1_22_API_VERSION")],  # NEP 49 handlers
              extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"])
    for pyx in sorted(Path("core_ext").glob("_*.pyx"))
]

if __name__ == "__main__":  # how pip's build backend runs it (a test loads it under its name)
    setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES),
          cmdclass={"build_ext": BuildExt})
