"""The A3 reference solutions. The modules A3 gives students (model_utils, grammar, long_range,
digit_names, reversal) have one copy, in assignments/a3_rnn/, and are found there as
``solutions.a3_rnn.<name>`` too: the reference runs on exactly what students get."""
from pathlib import Path

__path__.append(str(Path(__file__).resolve().parents[2] / "assignments" / "a3_rnn"))
