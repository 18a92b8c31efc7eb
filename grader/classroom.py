"""``layerlab export github-classroom``: a student-repository template whose workflow grades each
push and reports the points to GitHub Classroom.

The template is the student release (:func:`grader.release.release`) plus
``.github/workflows/classroom.yml``. On every push the workflow installs LayerLab, grades the
assignment's folder into Gradescope-style results.json, and ``python -m grader.classroom``
turns that into what Classroom's reporter (``classroom-resources/autograding-grading-reporter``)
reads: the step output ``result``, base64 of ``{"version", "status", "max_score", "tests"}``
with one test per task and its points. The reporter sums the tests' scores against
``max_score`` and posts "Points X/Y" on the run's check, where Classroom reads it.

Hidden tests: with ``hidden_from`` (the instructor's private GitHub repository) the workflow
checks that repository out with a token secret and grades with it; without, it grades the
public checks only and says so. The template's README states what each protects.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from grader import gradescope, release, spec
from grader.results import points
from grader.spec import Assignment, UsageError

WORKFLOW = ".github/workflows/classroom.yml"
RUNNER_ID = "layerlab"  # the grading step's id; the reporter reads env LAYERLAB_RESULTS
DEFAULT_SECRET = "LAYERLAB_HIDDEN_TOKEN"
INSTRUCTOR_DIR = ".layerlab-instructor"
MESSAGE_CHARS = 2000
PUBLIC_ONLY = ("Public checks only: this repository has no hidden tests, so these points are not "
               "the grade. The hidden tests run when your instructor grades.")
_REPO = re.compile(r"^(?:https://github\.com/|git@github\.com:)?"
                   r"(?P<repo>[A-Za-z0-9-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
_SECRET = re.compile(r"^(?!GITHUB_)[A-Za-z_][A-Za-z0-9_]*$")

_HEAD = """\
# LayerLab @ID@ (@TITLE@): grades every push and reports the points to GitHub Classroom.
# Written by `layerlab export github-classroom`; the README's "Grading" section explains it.
name: Autograding Tests
"on":
  - push
  - workflow_dispatch
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"
"""
_PUBLIC = """\
      - name: Install LayerLab (public checks only)
        run: python -m pip install .
"""
_HIDDEN = """\
      - name: Check that the hidden tests can be fetched
        env:
          TOKEN: ${{ secrets.@SECRET@ }}
        run: |
          if [ -z "$TOKEN" ]; then
            echo "::error::the secret @SECRET@ is not set: the hidden tests cannot be fetched"
            exit 1
          fi
      - name: Check out the instructor's LayerLab (hidden tests)
        uses: actions/checkout@v4
        with:
          repository: @REPO@
          token: ${{ secrets.@SECRET@ }}
          path: @DIR@
          persist-credentials: false
      - name: Install the instructor's LayerLab
        run: python -m pip install ./@DIR@
"""
_GRADE = """\
      - name: Grade @ID@
        id: @RUNNER@
        env:
          RESULTS: ${{ runner.temp }}/layerlab-results.json
        run: |
          layerlab grade @FOLDER@ --assignment @ID@ --json "$RESULTS" || true
          python -I -m grader.classroom "$RESULTS" --assignment @ID@@FLAG@
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          @ENV@_RESULTS: "${{ steps.@RUNNER@.outputs.result }}"
        with:
          runners: @RUNNER@
"""


@dataclass
class Template:
    """What was written: the folder, its files, the assignment and where hidden tests come from
    (``None``: public checks only)."""

    out: Path
    files: list[str]
    assignment: Assignment
    hidden_from: str | None
    secret: str


def hidden_repository(source: str) -> str:
    """``owner/name`` of the instructor's GitHub repository, from that or its URL."""
    match = _REPO.match(source.strip())
    if not match:
        raise UsageError(f"--hidden-from expects a GitHub repository, as owner/name or "
                         f"https://github.com/owner/name; got '{source}'")
    return match["repo"]


def workflow(assignment: Assignment, hidden_from: str | None = None,
             secret: str = DEFAULT_SECRET) -> str:
    """The text of ``.github/workflows/classroom.yml``."""
    if not _SECRET.match(secret):
        raise UsageError(f"--hidden-secret must be a secret's name (letters, digits and _, not "
                         f"starting with GITHUB_); got '{secret}'")
    text = _HEAD + (_HIDDEN if hidden_from else _PUBLIC) + _GRADE
    for key, value in (("@ID@", assignment.id), ("@TITLE@", assignment.title),
                       ("@FOLDER@", f"assignments/{assignment.folder.name}"),
                       ("@FLAG@", "" if hidden_from else " --public-only"),
                       ("@REPO@", hidden_from or ""), ("@SECRET@", secret),
                       ("@DIR@", INSTRUCTOR_DIR), ("@RUNNER@", RUNNER_ID),
                       ("@ENV@", RUNNER_ID.upper())):
        text = text.replace(key, value)
    return text


def template(out: Path, assignment_id: str, *, hidden_from: str | None = None,
             secret: str = DEFAULT_SECRET, force: bool = False) -> Template:
    """Write the template repository for ``assignment_id`` to ``out``. Raises UsageError for a
    bad request and ReleaseRefused when the student release inside it would leak."""
    assignment = spec.get(assignment_id)
    repo = hidden_repository(hidden_from) if hidden_from else None
    text = workflow(assignment, repo, secret)  # checked before anything is written
    done = release.release(out, [assignment.id], force=force)
    path = done.out / WORKFLOW
    path.parent.mkdir(parents=True)
    path.write_text(text)
    readme = done.out / "README.md"
    readme.write_text(readme.read_text().rstrip("\n") + "\n\n" + grading_readme(assignment, repo,
                                                                                 secret))
    return Template(done.out, sorted([*done.files, WORKFLOW]), assignment, repo, secret)


def grading_readme(assignment: Assignment, repo: str | None, secret: str) -> str:
    """The README section on grading: what runs on a push, what protects what, and the
    instructor's setup."""
    folder = f"assignments/{assignment.folder.name}/"
    intro = (f"Every push runs `{WORKFLOW}`: it installs LayerLab, grades your `{folder}` folder "
             "and reports the points to GitHub Classroom, one entry per task (the run in the "
             "Actions tab has the report). ")
    if repo:
        intro += (f"It runs the public checks and the hidden tests. The hidden tests come from "
                  f"the instructor's private repository `{repo}`, fetched for each run with the "
                  f"secret `{secret}`; the report says what each hidden test found, never its "
                  "code.")
        secrecy = (f"**The hidden tests are only as secret as the token.** A workflow runs "
                   f"whatever its file says: anyone who can push to a repository that receives "
                   f"`{secret}` can make a run print the token or the instructor's repository.")
        setup = [f"Create a token that can only read `{repo}` (a fine-grained personal access "
                 f"token with Contents: read on that one repository, or a deploy key with "
                 f"`ssh-key:` in place of `token:` in the workflow) and add it as the "
                 f"organization secret `{secret}`, available to the students' repositories. "
                 "Revoke it after the deadline."]
    else:
        intro += ("It runs the public checks only: this repository holds no hidden tests, so "
                  "the points are those of the public checks, not the grade. The hidden tests "
                  "run when the instructor grades.")
        secrecy = ("**Nothing secret is here.** No hidden test, solution or token is in this "
                   "repository or its workflow: reading or changing them reveals nothing and "
                   "earns no hidden points, which only the instructor's grading awards.")
        setup = ["For the hidden tests in every run, export the template again with "
                 "`--hidden-from OWNER/REPO` (the instructor's private LayerLab repository)."]
    bullets = [
        "**Student code runs in LayerLab's sandbox.** The score is decided in a separate "
        "process that only receives the functions' outputs, so a submission cannot change its "
        "own points.",
        "**The workflow is not a secret and not a referee.** Students can read it, and a "
        "workflow reports whatever it is written to report: changes to `.github/` show in the "
        "repository's history, and the instructor can regrade every repository with "
        "`layerlab batch` over the Classroom clones.",
        secrecy]
    steps = ["Push this folder to a repository of the classroom's organization, mark it as a "
             "template, and choose it as the assignment's template repository in GitHub "
             "Classroom (no autograding tests to add there: this workflow is the autograder).",
             *setup]
    wrap = textwrap.TextWrapper(width=96, subsequent_indent="  ")
    return "\n".join([
        "## Grading (GitHub Classroom)", "", textwrap.fill(intro, 96), "", "What protects what:",
        "", *(wrap.fill(f"- {b}") for b in bullets), "", "For the instructor:", "",
        *(wrap.fill(f"- {s}") for s in steps)]) + "\n"


# -- results.json -> Classroom's result ---------------------------------------------------------

def to_classroom(doc: dict, assignment: Assignment, *, public_only: bool = False) -> dict:
    """Classroom's result for a Gradescope-style results.json: one test per task."""
    tasks: dict[str, list[dict]] = {task: [] for task in assignment.tasks}
    for test in doc.get("tests", []):
        tasks.setdefault(test["name"].split(" · ", 1)[0], []).append(test)
    entries = [_entry(task, assignment.tasks.get(task, ""), tests)
               for task, tests in tasks.items() if tests]
    passed = all(e["status"] == "pass" for e in entries)
    notes = [doc.get("output", "")] + ([PUBLIC_ONLY] if public_only else [])
    return {"version": 1, "status": "pass" if passed else "fail",
            "max_score": round(sum(e["max_score"] for e in entries), 4),
            "message": "\n".join(n for n in notes if n), "tests": entries}


def _entry(task: str, title: str, tests: list[dict]) -> dict:
    score, max_score = sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)
    failed = [t for t in tests if t["status"] != "passed"]
    head = f"{points(score)}/{points(max_score)} points"
    if failed:
        lines = [f"{head}; {len(failed)} of {len(tests)} tests lost points:"]
        lines += [f"{t['name'].split(' · ', 1)[-1]}: {t['output']}" for t in failed]
        message = "\n".join(lines)
        message = message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS] + " …"
    else:
        notes = [n for t in tests for n in _notes(t)]
        message = "\n".join([f"{head}; all {len(tests)} tests passed", *notes])
        message = message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS] + " …"
    return {"name": f"{task} · {title}" if title else task, "status": "fail" if failed else "pass",
            "score": round(score, 4), "max_score": round(max_score, 4), "message": message}


def _notes(test: dict) -> list[str]:
    """The notes a test recorded (results.json's ``extra_data.notes``; see grader.export)."""
    notes = (test.get("extra_data") or {}).get("notes")
    return [n for n in notes if isinstance(n, str)] if isinstance(notes, list) else []


def not_graded(assignment: Assignment, reason: str, *, public_only: bool = False) -> dict:
    """Classroom's result when there is no grade to convert: 0 of the assignment's points."""
    from grader.grade import plan  # collecting the tests takes seconds: only on this path

    try:
        tests = plan(assignment).tests
        total = sum(t.max_score for t in tests if not public_only or t.visibility == "public")
    except Exception:  # noqa: BLE001 - the reason matters more than the total
        total = 0
    message = f"LayerLab could not grade this submission: {reason}"
    return {"version": 1, "status": "error", "max_score": round(total, 4), "message": message,
            "tests": [{"name": f"{assignment.id} · grading", "status": "error", "score": 0,
                       "max_score": round(total, 4), "message": message}]}


def encode(result: dict) -> str:
    """The step output's value: base64 of the compact JSON, on one line."""
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def summary(result: dict) -> str:
    """The points per task, as the grading step prints them in the run's log."""
    got = sum(t["score"] for t in result["tests"])
    lines = [f"LayerLab: {points(got)}/{points(result['max_score'])} points"]
    width = max((len(t["name"]) for t in result["tests"]), default=0)
    lines += [f"  {t['name']:<{width}}  {points(t['score']):>7}/{points(t['max_score']):<6} "
              f"{t['status']}" for t in result["tests"]]
    return "\n".join([*lines, result.get("message", "")]).rstrip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.classroom",
        description="Turn LayerLab's results.json into the step output 'result' that GitHub "
        "Classroom's autograding reporter reads (base64 JSON, one test per task).",
        epilog="example:\n  python -m grader.classroom results.json --assignment a1 "
        "--public-only", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="results.json from layerlab grade --json")
    parser.add_argument("--assignment", "-a", required=True, help="assignment id, e.g. a1")
    parser.add_argument("--public-only", action="store_true",
                        help="the grading had no hidden tests: say so in the result")
    parser.add_argument("--output", type=Path, default=os.environ.get("GITHUB_OUTPUT"),
                        help="file to append 'result=...' to (default $GITHUB_OUTPUT; "
                        "else it is printed)")
    args = parser.parse_args(argv)
    try:
        assignment = spec.get(args.assignment)
    except UsageError as exc:
        parser.error(str(exc))
    try:
        doc = json.loads(args.results.read_text(encoding="utf-8"))
        found = gradescope.problems(doc)
    except (OSError, ValueError) as exc:
        doc, found = None, [f"no readable {args.results.name} ({type(exc).__name__})"]
    if found:
        result = not_graded(assignment, "; ".join(found) + " (the log above says why)",
                            public_only=args.public_only)
    else:
        result = to_classroom(doc, assignment, public_only=args.public_only)
    print(summary(result))
    line = f"result={encode(result)}\n"
    if args.output:
        with open(args.output, "a", encoding="utf-8") as f:
            f.write(line)
    else:
        sys.stdout.write(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
