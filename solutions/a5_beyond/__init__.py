"""The A5 reference solutions. The module A5 gives students (nets) has one copy, in
assignments/a5_beyond/, and is found there as ``solutions.a5_beyond.nets`` too: the reference
runs on exactly what students get."""
from pathlib import Path

__path__.append(str(Path(__file__).resolve().parents[2] / "assignments" / "a5_beyond"))
