"""The A4 reference solutions (instructor-side, never released). The modules A4 gives students
(training, grammar) have one copy, in assignments/a4_attention/, and are found there as
``solutions.a4_attention.<name>`` too: the reference runs on exactly what students get."""
from pathlib import Path

__path__.append(str(Path(__file__).resolve().parents[2] / "assignments" / "a4_attention"))
