"""``python -m grader`` is the same as ``layerlab``."""

from grader.cli import entry

entry()
