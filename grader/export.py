"""Machine-readable views of a :class:`GradingResult`: Gradescope ``results.json`` and JUnit XML.

Files are written atomically (temporary file, then rename), so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from grader import report
from grader.results import GradingResult, points

VISIBILITY = {"public": "visible", "hidden": "after_published"}
_STATUS = {True: "passed", False: "failed"}


def summary_text(result: GradingResult) -> str:
    head = (f"LayerLab {result.assignment} ({result.title}): {points(result.score)}/"
            f"{points(result.max_score)} points ({result.percent:.1f} %), seed {result.seed}")
    notes = []
    if result.interrupted:
        notes.append(report.INTERRUPTED)
    if result.internal_errors:
        notes.append(f"{len(result.internal_errors)} grader error(s); the instructor has been "
                     "told. Points for the affected tests may change once fixed.")
    return "\n".join([head, *notes, *report.protection_lines(result)])


def to_gradescope(result: GradingResult) -> dict:
    """The Gradescope autograder ``results.json`` document."""
    tests = []
    for number, test in enumerate(result.tests, start=1):
        notes = test.note_lines()
        lines = (test.feedback_lines() or ["passed"]) + notes
        row = {
            "name": f"{test.task} · {test.name}",
            "number": str(number),
            "score": round(test.score, 4),
            "max_score": round(test.max_score, 4),
            "status": _STATUS[test.passed],
            "output": "\n".join(lines),
            "visibility": VISIBILITY[test.visibility],
        }
        if notes:  # also apart from the output, for readers such as grader.classroom
            row["extra_data"] = {"notes": notes}
        tests.append(row)
    return {
        "score": round(result.score, 4),
        "execution_time": round(result.execution_time, 3),
        "output": summary_text(result),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def to_junit(result: GradingResult) -> ET.Element:
    """A JUnit XML ``<testsuites>`` tree: one suite per task, one test case per pytest item."""
    root = ET.Element("testsuites", name=f"layerlab-{result.assignment}",
                      time=f"{result.execution_time:.3f}")
    for task in result.tasks():
        cases = [(t, c) for t in task.tests for c in t.cases]
        failures = sum(1 for _, c in cases if not c.passed and not c.internal_error)
        errors = sum(1 for _, c in cases if c.internal_error)
        suite = ET.SubElement(root, "testsuite", name=task.task, tests=str(len(cases)),
                              failures=str(failures), errors=str(errors), skipped="0")
        for test, case in cases:
            name = f"{test.name} [{case.case}]" if case.case else test.name
            el = ET.SubElement(suite, "testcase", classname=test.test_id, name=name)
            ET.SubElement(el, "properties").extend([
                ET.Element("property", name="score", value=f"{case.score:.6g}"),
                ET.Element("property", name="max_score", value=f"{case.max_score:g}"),
                *(ET.Element("property", name="note", value=note) for note in case.notes)])
            if not case.passed:
                tag = "error" if case.internal_error else "failure"
                ET.SubElement(el, tag, message=case.feedback[:500]).text = case.feedback
            if case.output:
                ET.SubElement(el, "system-out").text = case.output
    root.set("tests", str(sum(int(s.get("tests")) for s in root)))
    root.set("failures", str(sum(int(s.get("failures")) for s in root)))
    root.set("errors", str(sum(int(s.get("errors")) for s in root)))
    return root


def write_json(result: GradingResult, path: Path) -> None:
    _atomic_write(path, json.dumps(to_gradescope(result), indent=2, ensure_ascii=False))


def write_junit(result: GradingResult, path: Path) -> None:
    tree = to_junit(result)
    ET.indent(tree)
    _atomic_write(path, '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(tree, "unicode"))


def _atomic_write(path: Path, text: str) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:  # e.g. Ctrl-C, which may also land just after the replace
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
