"""LayerLab's grading engine: sandboxed workers, a pytest plugin, comparisons and reports.

``from grader import check`` gives students the public checks in Python (a notebook above all):
see :mod:`grader.check`.
"""

from grader.check import check  # the function; it shadows its module's name on the package

__all__ = ["check"]
