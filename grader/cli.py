"""``layerlab``: grade submissions (one, or a class), run public checks, list assignments,
release the student bundle, export a Gradescope autograder or a GitHub Classroom template.

Exit codes: 0 grading ran (whatever the score), a batch gave every submission its row, or the
release or export was written; 1 the score is under ``--fail-under``, or the release (also the
one inside a Classroom template) was refused (stubs that differ from their solutions, or a
secret found in the bundle); 2 a usage error (bad path, unknown assignment, malformed config);
3 an internal grader error (the report is still printed and written; in a batch, some row's);
130 interrupted (finished results kept). ``similarity``: 0 compared (whatever it found), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.table import Table

from grader import (batch, classroom, export, gradescope, release, report,
                    similarity_report, spec)
from grader.grade import DEFAULT_SEED, grade, plan
from grader.progress import progress as progress_of
from grader.results import TaskResult
from grader.similarity import Params
from grader.spec import UsageError

EXIT_OK, EXIT_FAIL_UNDER, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EPILOG_GRADE = """\
examples:
  layerlab grade examples/a1_submission --assignment a1
  layerlab grade alice.zip --assignment a1 --json results.json --junit results.xml
  layerlab grade /autograder/submission --assignment a1 --json /autograder/results/results.json
  layerlab grade sub/ --assignment a1 --fail-under 60     # exit 1 below 60 %

The submission may be the student's copy of the assignment folder, a .zip of it, or its .py
files flat in one folder. Exit codes: 0 graded, 1 under --fail-under, 2 usage error,
3 grader error (report still written)."""

EPILOG_CHECK = """\
examples:
  layerlab check a1                         # the repository's assignments/a1_networks
  layerlab check a1 --path ~/hw/a1_networks # your own copy
  layerlab check a1 --task a1.relu          # one task only

Runs the public checks only; the grade also uses hidden tests on random inputs."""

EPILOG_BATCH = """\
examples:
  layerlab batch submissions/ --assignment a1 --out grades/
  layerlab batch gradescope_export.zip -a a1 --out grades/ --jobs 2
  layerlab batch classroom-clones/ -a a2 --out grades/ --force     # regrade everything
  layerlab batch submissions/ -a a1 --out grades/ --cluster tcp://scheduler:8786

SUBMISSIONS: one folder or .zip per student, Gradescope's "Export Submissions" (folder or zip,
with submission_metadata.yml), Canvas's download (files named name_userid_subid_file), or a
folder of GitHub Classroom clones. Written to --out: gradebook.csv (one row per student: points
per task, total, percent, status, seconds, protections), results/<student>.json and
feedback/<student>.txt. A rerun grades only what changed (files, assignment or grader); an
interrupted batch keeps every finished row and resumes when run again. Each student's seed comes
from --seed and the student's id, so verdicts do not depend on order or machine.
Exit codes: 0 every submission has its row (a bad one says why in it), 2 usage error, 3 a grader
error in some row, 130 interrupted (finished rows kept)."""

EPILOG_RELEASE = """\
examples:
  layerlab release --out ../layerlab-student              # every assignment
  layerlab release --out dist/week1 --assignment a1       # only A1 (repeatable)
  layerlab release --out dist/week1 -a a1 --force         # replace an earlier release

The bundle holds the assignments' stubs, handouts and public checks, the grader and the sources
of core_ext, with its own pyproject.toml and README (the students' install command); never
solutions/, hidden tests or the lists of known mistakes. Before writing anything it checks that
every stub has its solution's names, signatures and docstrings and is still a stub, then scans
the bundle for lines of the instructor-only files. Exit codes: 0 written, 1 refused (each
problem named), 2 usage error."""

EPILOG_EXPORT = """\
examples:
  layerlab export gradescope --assignment a1 --out autograder.zip
  layerlab export github-classroom --assignment a1 --out ../a1-template
  layerlab export github-classroom -a a1 --out ../a1-template --hidden-from prof/layerlab-full

gradescope: the zip to upload as the assignment's autograder: setup.sh (installs Python 3.11+
if needed and LayerLab, with the solutions and hidden tests, into a venv), run_autograder
(grades /autograder/submission into /autograder/results/results.json, a score-0 one saying why
when grading fails) and the source. It is the instructor's upload: never give it to students.
github-classroom: a template repository: the student release plus .github/workflows/classroom.yml,
which grades every push and reports the points per task to Classroom; public checks only, or
with the hidden tests of the private repository --hidden-from, read with the token secret
--hidden-secret (default LAYERLAB_HIDDEN_TOKEN). Its README says what protects what.
Exit codes: 0 written, 1 the release inside the template was refused, 2 usage error."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layerlab", description="Auto-graded deep-learning assignments: students implement "
        "layers in NumPy; LayerLab runs their code in a sandbox and scores it.",
        epilog="Run 'layerlab COMMAND --help' for the options and examples of each command.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("grade", help="grade a submission (public and hidden tests)",
                       description="Grade one submission with the public and hidden tests and "
                       "print a scored report.", epilog=EPILOG_GRADE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("submission", type=Path, help="submission folder or .zip")
    g.add_argument("--assignment", "-a", required=True, help="assignment id, e.g. a1")
    g.add_argument("--json", type=Path, metavar="FILE", help="write Gradescope results.json here")
    g.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    g.add_argument("--fail-under", type=_percent, metavar="PCT",
                   help="exit with code 1 when the score is below PCT percent")
    g.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"seed for the random test inputs (default {DEFAULT_SEED})")
    g.add_argument("--task", action="append", metavar="ID",
                   help="grade only this task (repeatable), e.g. --task a1.affine")
    _details_option(g)

    c = sub.add_parser("check", help="run the public checks on your working copy",
                       description="Run an assignment's public checks on a working copy.",
                       epilog=EPILOG_CHECK, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("assignment", help="assignment id, e.g. a1")
    c.add_argument("--path", type=Path, help="your assignment folder (default: the repository's)")
    c.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for random inputs")
    c.add_argument("--task", action="append", metavar="ID",
                   help="check only this task (repeatable), e.g. --task a1.relu")
    _details_option(c)

    b = sub.add_parser("batch", help="grade a whole class into a CSV gradebook",
                       description="Grade every submission in SUBMISSIONS, each in its own "
                       "sandbox, into a gradebook with results and feedback per student.",
                       epilog=EPILOG_BATCH, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                   help="folder (or .zip) of submissions, one per student")
    b.add_argument("--assignment", "-a", required=True, help="assignment id, e.g. a1")
    b.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder for gradebook.csv, results/ and feedback/")
    b.add_argument("--jobs", "-j", type=_positive, metavar="N",
                   help="submissions graded at once (default: the machine's cores)")
    b.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"batch seed; each student's comes from it and their id "
                   f"(default {DEFAULT_SEED})")
    b.add_argument("--task", action="append", metavar="ID", help="grade only this task")
    b.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    b.add_argument("--cluster", metavar="ADDRESS",
                   help="grade on a Dask cluster (e.g. tcp://host:8786; needs .[cluster])")

    r = sub.add_parser("release", help="write the student bundle (no solutions, no hidden tests)",
                       description="Write the bundle students get: stubs, handouts, public "
                       "checks, the grader and core_ext's sources, never the instructor's files.",
                       epilog=EPILOG_RELEASE, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="folder to write the bundle to (new or empty, or --force)")
    r.add_argument("--assignment", "-a", action="append", metavar="ID",
                   help="release only this assignment (repeatable; default: all)")
    r.add_argument("--force", action="store_true", help="replace a non-empty --out folder")

    e = sub.add_parser("export", help="write a Gradescope autograder or a GitHub Classroom "
                       "template", description="Write what grades on Gradescope or GitHub "
                       "Classroom.", epilog=EPILOG_EXPORT,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    targets = e.add_subparsers(dest="target", required=True, metavar="TARGET")
    for name, help_, out, what in (
            ("gradescope", "the autograder zip (instructor-only)", "ZIP", "the zip to write"),
            ("github-classroom", "a student-repository template", "DIR",
             "the template's folder (new or empty)")):
        t = targets.add_parser(name, help=help_, description=f"Write {help_}.",
                               epilog=EPILOG_EXPORT,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        t.add_argument("--assignment", "-a", required=True, help="assignment id, e.g. a1")
        t.add_argument("--out", type=Path, required=True, metavar=out, help=what)
        t.add_argument("--force", action="store_true", help=f"replace an existing {out}")
    gh = targets.choices["github-classroom"]
    gh.add_argument("--hidden-from", metavar="REPO",
                    help="the instructor's private GitHub repository (owner/name or its URL) "
                    "whose hidden tests the workflow grades with (default: public checks only)")
    gh.add_argument("--hidden-secret", default=classroom.DEFAULT_SECRET, metavar="NAME",
                    help=f"the secret holding a token that reads it (default "
                    f"{classroom.DEFAULT_SECRET})")

    m = sub.add_parser("similarity", help="find pairs of submissions that share code",
                       description="Compare every pair of submissions function by function and "
                       "list the pairs that share code.", epilog=similarity_report.EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                   help="folder (or .zip) of submissions, one per student")
    m.add_argument("--assignment", "-a", required=True, help="assignment id, e.g. a1")
    m.add_argument("--threshold", type=similarity_report.fraction, default=Params().threshold,
                   metavar="T", help="list pairs with a function scoring T or more (0 < T <= 1, "
                   f"default {Params().threshold:g})")
    m.add_argument("--csv", type=Path, metavar="FILE", help="write every listed pair here")
    m.add_argument("--html", type=Path, metavar="FILE",
                   help="write the best pairs here, functions side by side")
    m.add_argument("--top", type=_positive, default=20, metavar="K",
                   help="the table and the HTML page show the best K pairs (default 20)")

    sub.add_parser("list", help="list assignments, their tasks and points",
                   description="List every assignment with its tasks and the points of their "
                   "public and hidden tests.", epilog="example:\n  layerlab list",
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def _details_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--details", choices=report.DETAILS, default="failed",
                        help="after the summary, show the tests that lost points (failed, the "
                        "default), every test (all) or nothing more (none)")


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got '{text}'") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage between 0 and 100, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        if args.command == "list":
            return _list(console)
        if args.command == "batch":
            return _batch(console, errors, args)
        if args.command == "release":
            return _release(console, errors, args.out, args.assignment, args.force)
        if args.command == "export":
            return _export(console, errors, args)
        if args.command == "similarity":
            return similarity_report.run(console, errors, args.submissions,
                                         spec.get(args.assignment), threshold=args.threshold,
                                         csv_path=args.csv, html_path=args.html, top=args.top)
        if args.command == "check":
            assignment = spec.get(args.assignment)
            return _run(console, errors, assignment, args.path or assignment.folder, args.seed,
                        hidden=False, tasks=args.task, details=args.details)
        for target in (args.json, args.junit):
            if target is not None and not target.resolve().parent.is_dir():
                raise UsageError(f"cannot write {target}: folder {target.parent} does not exist")
        return _run(console, errors, spec.get(args.assignment), args.submission, args.seed,
                    hidden=True, json_path=args.json, junit_path=args.junit,
                    fail_under=args.fail_under, tasks=args.task, details=args.details)
    except UsageError as exc:
        errors.print(f"layerlab: error: {exc}", markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        errors.print("layerlab: interrupted")
        return EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 - the last line of defence: say so, with the traceback
        errors.print("layerlab: internal error (please report it):", markup=False)
        errors.print(traceback.format_exc(), markup=False)
        return EXIT_INTERNAL


def _run(console, errors, assignment, path, seed, *, hidden, json_path=None, junit_path=None,
         fail_under=None, tasks=None, details="failed") -> int:
    with progress_of(errors, "checking" if not hidden else "grading") as progress:
        result = grade(Path(path), assignment, seed=seed, hidden=hidden, progress=progress,
                       tasks=tasks)
    report.render(result, console, details=details)
    code = EXIT_OK
    for path_, writer in ((json_path, export.write_json), (junit_path, export.write_junit)):
        if path_ is not None:
            try:
                writer(result, path_)
            except OSError as exc:
                errors.print(f"layerlab: error: cannot write {path_}: {exc.strerror}", markup=False)
                code = EXIT_USAGE
    if result.internal_errors:
        return EXIT_INTERNAL
    if result.interrupted:
        return EXIT_INTERRUPTED
    if code == EXIT_OK and fail_under is not None and result.percent < fail_under:
        errors.print(f"layerlab: score {result.percent:.1f} % is under --fail-under {fail_under:g}")
        return EXIT_FAIL_UNDER
    return code


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text}")
    return value


def _batch(console, errors, args) -> int:
    assignment = spec.get(args.assignment)
    columns = [TextColumn("[progress.description]{task.description}"), BarColumn(),
               MofNCompleteColumn(), TextColumn("{task.fields[failed]}"), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=errors, transient=False) as bar:
        task = bar.add_task(f"grading {assignment.id}", total=None, failed="")

        def advance(done: int, total: int, failed: int) -> None:
            bar.update(task, completed=done, total=total,
                       failed=f"{failed} not graded" if failed else "")

        summary = batch.run(args.submissions, assignment, args.out, jobs=args.jobs,
                            seed=args.seed, force=args.force, tasks=args.task,
                            cluster=args.cluster, progress=advance)
    rows = summary.rows
    scored = [r.outcome["percent"] for r in rows if r.outcome["status"] == "graded"]
    mean = f" (mean {sum(scored) / len(scored):.1f} %)" if scored else ""
    console.print(f"{len(rows)} rows in {args.out / batch.GRADEBOOK}: {len(scored)} graded"
                  f"{mean}, {len(rows) - len(scored)} not; {summary.reused} unchanged since "
                  "the last run and not graded again", markup=False, soft_wrap=True)
    for row in rows:
        if row.outcome["status"] != "graded":
            console.print(f"  {row.student}: {row.outcome['status']}: "
                          f"{row.outcome.get('message', '')}", markup=False, soft_wrap=True)
    if summary.interrupted:
        errors.print(f"layerlab: interrupted: {len(rows)} rows kept, {summary.pending} still to "
                     "grade; run the same command again to grade the rest", markup=False)
        return EXIT_INTERRUPTED
    if any(r.outcome["status"] == "grader error" for r in rows):
        return EXIT_INTERNAL
    return EXIT_OK


def _release(console, errors, out: Path, ids, force: bool) -> int:
    try:
        done = release.release(out, ids, force=force)
    except release.ReleaseRefused as refused:
        errors.print(f"layerlab: release refused, {len(refused.problems)} problem(s); nothing "
                     "was written:", markup=False)
        for problem in refused.problems:
            errors.print(f"  - {problem}", markup=False)
        return EXIT_FAIL_UNDER
    names = ", ".join(f"{a.id} ({a.title})" for a in done.assignments)
    console.print(f"released {names}: {len(done.files)} files in {done.out}", markup=False)
    console.print("checked: every stub has its solution's names, signatures and docstrings and "
                  "is still a stub; no path or line of solutions/ or the hidden tests is in it",
                  markup=False)
    console.print(f"students: cd {done.out} && python3 -m venv .venv && "
                  f".venv/bin/pip install -e . && .venv/bin/layerlab check "
                  f"{done.assignments[0].id}", markup=False, soft_wrap=True)
    return EXIT_OK


def _export(console, errors, args) -> int:
    if args.target == "gradescope":
        done = gradescope.bundle(args.out, args.assignment, force=args.force)
        console.print(f"wrote {done.out}: the Gradescope autograder of {done.assignment.id} "
                      f"({done.assignment.title}), {len(done.files)} files: setup.sh, "
                      "run_autograder and LayerLab with the solutions and hidden tests",
                      markup=False, soft_wrap=True)
        console.print("upload it as the assignment's autograder; it is instructor-only: never "
                      "give it to students", markup=False, soft_wrap=True)
        return EXIT_OK
    try:
        done = classroom.template(args.out, args.assignment, hidden_from=args.hidden_from,
                                  secret=args.hidden_secret, force=args.force)
    except release.ReleaseRefused as refused:
        errors.print(f"layerlab: export refused: the student release in it has "
                     f"{len(refused.problems)} problem(s); nothing was written:", markup=False)
        for problem in refused.problems:
            errors.print(f"  - {problem}", markup=False)
        return EXIT_FAIL_UNDER
    grading = (f"with the hidden tests of {done.hidden_from} (add the secret {done.secret})"
               if done.hidden_from else "public checks only (no --hidden-from)")
    console.print(f"wrote {done.out}: the GitHub Classroom template of {done.assignment.id}, "
                  f"{len(done.files)} files; {classroom.WORKFLOW} grades every push, "
                  f"{grading}", markup=False, soft_wrap=True)
    console.print("push it to a template repository and choose it in the Classroom assignment; "
                  "its README says what protects what", markup=False, soft_wrap=True)
    return EXIT_OK


def _list(console: Console) -> int:
    for assignment in spec.all_assignments().values():
        table = Table(title=f"{assignment.id}  {assignment.title}", title_justify="left")
        table.add_column("task")
        table.add_column("title")
        table.add_column("public", justify="right")
        table.add_column("hidden", justify="right")
        tasks = {task.task: task for task in plan(assignment).tasks()}
        for task, title in assignment.tasks.items():
            planned = tasks.get(task, TaskResult(task, title, []))
            table.add_row(task, title, f"{planned.max_score_of('public'):g}",
                          f"{planned.max_score_of('hidden'):g}")
        table.add_row("", "total", *(f"{sum(t.max_score_of(v) for t in tasks.values()):g}"
                                     for v in ("public", "hidden")), style="bold")
        console.print(table)
    return EXIT_OK


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())

