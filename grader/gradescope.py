"""``layerlab export gradescope``: the autograder zip Gradescope builds its grading image from.

At the zip's root: ``setup.sh`` (run once, as root, when Gradescope builds the image: a C compiler
and Python 3.11+ if the image lacks them, then LayerLab from the zip into a venv),
``run_autograder`` (run once per submission: ``layerlab grade /autograder/submission`` writing
``/autograder/results/results.json``) and LayerLab's source with the solutions and the hidden
tests. The zip is the instructor's upload and never reaches students; Gradescope shows them only
results.json, where a hidden test's verdict is ``after_published`` and its code never appears.

Whatever happens, ``run_autograder`` leaves a valid results.json: when grading fails (no
assignment files, a grader error, LayerLab not installed) a score-0 one says why in ``output``.
``python -m grader.gradescope ensure`` is that last step; :func:`problems` checks a document
against Gradescope's field names and types.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader import export, release, spec
from grader.spec import ROOT, Assignment, UsageError

SOURCE_DIRS = ("grader", "core_ext", "assignments", "solutions")
SOURCE_FILES = ("setup.py", "pyproject.toml", "README.md")  # pyproject's readme is README.md
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
STATUSES = ("passed", "failed")
_EXIT_USAGE = 2  # grader.cli's; not imported, so this module stays importable on its own
_LOG_LINES = 20

SETUP_SH = r"""#!/usr/bin/env bash
# LayerLab's Gradescope autograder for @ID@ (@TITLE@). Gradescope runs this once, as root, when it
# builds the autograder's image: a C compiler and Python 3.11+ where the image lacks them, then
# LayerLab from this zip (solutions and hidden tests included) into a venv.
#   LAYERLAB_AUTOGRADER     the autograder's root (default /autograder; this zip is its source/)
#   LAYERLAB_PYTHON         the Python to make the venv with (default: a python3.1x >= 3.11 on
#                           the PATH, else apt's python3.11)
#   LAYERLAB_VENV           the venv (default $LAYERLAB_AUTOGRADER/layerlab-venv)
#   LAYERLAB_SKIP_SYSTEM=1  no apt-get: the machine has a C compiler and the Python already
set -euo pipefail
root="${LAYERLAB_AUTOGRADER:-/autograder}"
venv="${LAYERLAB_VENV:-$root/layerlab-venv}"
python="${LAYERLAB_PYTHON:-}"
system=$([ "${LAYERLAB_SKIP_SYSTEM:-0}" = 1 ] && echo no || echo yes)

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ "$system" = yes ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  command -v cc >/dev/null || apt-get install -y --no-install-recommends build-essential
fi
if [ -z "$python" ]; then
  python="$(find_python)" || python=""
  if [ -z "$python" ] && [ "$system" = yes ]; then
    python=python3.11  # Ubuntu 22.04 has 3.10; its universe (else deadsnakes) has 3.11
    if ! apt-get install -y --no-install-recommends python3.11; then
      apt-get install -y --no-install-recommends software-properties-common
      add-apt-repository -y ppa:deadsnakes/ppa
      apt-get update
      apt-get install -y --no-install-recommends python3.11
    fi
  fi
  # apt's Pythons keep the venv module and the headers core_ext compiles against apart
  if [ -n "$python" ] && [ "$system" = yes ] && ! "$python" -c 'import ensurepip, os, sysconfig
assert os.path.isfile(os.path.join(sysconfig.get_path("include"), "Python.h"))' 2>/dev/null; then
    apt-get install -y --no-install-recommends "$python-venv" "$python-dev"
  fi
fi
if [ -z "$python" ]; then
  echo "setup.sh: no Python 3.11+ found; install one or set LAYERLAB_PYTHON" >&2
  exit 1
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install "$root/source"
# The install must find the assignment and its hidden tests, or every grade would be public-only.
"$venv/bin/python" -I -c "from grader import spec; a = spec.get('@ID@'); \
assert a.hidden_tests is not None, 'the hidden tests of @ID@ were not installed'"
echo "setup.sh: LayerLab installed in $venv for @ID@"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# LayerLab's Gradescope autograder for @ID@ (@TITLE@). Gradescope runs this once per submission,
# from /autograder: it grades submission/ into results/results.json. What it prints goes to the
# instructor's view only (results/stdout); students see results.json.
#   LAYERLAB_AUTOGRADER  the autograder's root (default /autograder)
#   LAYERLAB_VENV        the venv setup.sh made (default $LAYERLAB_AUTOGRADER/layerlab-venv)
set -u
root="${LAYERLAB_AUTOGRADER:-/autograder}"
venv="${LAYERLAB_VENV:-$root/layerlab-venv}"
results="$root/results/results.json"
log="$(mktemp)"
mkdir -p "$root/results"
rm -f "$results"

"$venv/bin/layerlab" grade "$root/submission" --assignment @ID@ --json "$results" 2>"$log"
code=$?
cat "$log" >&2
# A grade that could not be written becomes a score-0 results.json saying why.
"$venv/bin/python" -I -m grader.gradescope ensure "$results" --assignment @ID@ \
  --exit-code "$code" --log "$log"
if [ ! -s "$results" ]; then  # not even LayerLab's Python ran: setup.sh did not install it
  cat >"$results" <<'EOF'
{"score": 0, "execution_time": 0, "visibility": "visible", "stdout_visibility": "hidden",
 "output": "Nothing was graded: LayerLab is not installed in this autograder.", "tests": []}
EOF
fi
rm -f "$log"
exit 0
"""


@dataclass
class Bundle:
    """What was written: the zip, its entries and the assignment it grades."""

    out: Path
    files: list[str]
    assignment: Assignment


def bundle(out: Path, assignment_id: str, *, force: bool = False) -> Bundle:
    """Write the autograder zip for ``assignment_id`` to ``out`` (atomically)."""
    assignment = spec.get(assignment_id)
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; name the zip, e.g. {out}/autograder.zip")
    if out.exists() and not force:
        raise UsageError(f"--out {out} exists (--force replaces it)")
    if not out.resolve().parent.is_dir():
        raise UsageError(f"cannot write {out}: folder {out.parent} does not exist")
    if assignment.hidden_tests is None:
        raise UsageError(f"{assignment.id} has no hidden tests in {assignment.solution}: an "
                         "autograder needs the instructor's repository")
    scripts = {name: text.replace("@ID@", assignment.id).replace("@TITLE@", assignment.title)
               for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER))}
    sources = source_files()
    fd, tmp = tempfile.mkstemp(dir=out.resolve().parent, prefix=f".{out.name}.")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in scripts.items():
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.external_attr = 0o100755 << 16  # a regular file, executable
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, text)
            for name, path in sources.items():
                zf.write(path, name)
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    return Bundle(out, [*scripts, *sources], assignment)


def source_files() -> dict[str, Path]:
    """LayerLab's source as the zip carries it (zip path -> file), build products left out."""
    files = {}
    for folder in SOURCE_DIRS:
        for path in release._walk(ROOT / folder):
            files[path.relative_to(ROOT).as_posix()] = path
    for name in SOURCE_FILES:
        files[name] = ROOT / name
    return files


# -- results.json ------------------------------------------------------------------------------

def problems(doc) -> list[str]:
    """How ``doc`` departs from Gradescope's results.json specification (empty when it fits)."""
    if not isinstance(doc, dict):
        return [f"results.json must be an object, not {type(doc).__name__}"]
    found = []
    tests = doc.get("tests", [])
    if not isinstance(tests, list):
        return ["'tests' must be a list"]
    if "score" not in doc and not all(isinstance(t, dict) and "score" in t for t in tests):
        found.append("'score' is required unless every test has one")
    found += _fields(doc, "", {"score": (int, float), "execution_time": (int, float),
                               "output": str, "visibility": str, "stdout_visibility": str,
                               "extra_data": dict})
    for i, test in enumerate(tests):
        where = f"tests[{i}]."
        if not isinstance(test, dict):
            found.append(f"tests[{i}] must be an object")
            continue
        found += _fields(test, where, {"score": (int, float), "max_score": (int, float),
                                       "name": str, "number": str, "output": str, "tags": list,
                                       "status": str, "visibility": str, "extra_data": dict})
        if "status" in test and test["status"] not in STATUSES:
            found.append(f"{where}status is {test['status']!r}; expected one of {STATUSES}")
    return found


def _fields(obj: dict, where: str, types: dict) -> list[str]:
    found = []
    for key, kind in types.items():
        value = obj.get(key)
        if key in obj and (not isinstance(value, kind) or isinstance(value, bool)):
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            found.append(f"{where}{key} must be {names}, got {type(value).__name__}")
        elif key.endswith("visibility") and key in obj and value not in VISIBILITIES:
            found.append(f"{where}{key} is {value!r}; expected one of {VISIBILITIES}")
    return found


def ensure(results: Path, assignment_id: str, exit_code: int, log: str = "") -> bool:
    """Leave a valid results.json at ``results``: keep the grade if it is one, else write a
    score-0 document whose output says why grading failed. True when the grade was kept."""
    try:
        doc = json.loads(Path(results).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc, found = None, ["no results.json was written"]
    else:
        found = problems(doc)
    if not found:
        return True
    export._atomic_write(Path(results), json.dumps(failed(assignment_id, exit_code, log, found),
                                                   indent=2, ensure_ascii=False))
    return False


def failed(assignment_id: str, exit_code: int, log: str, found: list[str]) -> dict:
    """The score-0 results.json of a submission that could not be graded."""
    lines = [line for line in log.splitlines() if line.strip()]
    errors = [line.removeprefix("layerlab: error: ") for line in lines
              if line.startswith("layerlab: error: ")]
    if exit_code == _EXIT_USAGE and errors:
        try:
            files = ", ".join(f"{m}.py" for m in spec.get(assignment_id).modules)
        except UsageError:
            files = "its .py files"
        output = (f"LayerLab could not grade this submission: {errors[-1]}\nUpload the files of "
                  f"{assignment_id} ({files}), or a .zip of its folder, and submit again.")
    else:
        tail = "\n".join(lines[-_LOG_LINES:]) or "(the grader printed nothing)"
        output = (f"LayerLab could not grade this submission (the grader ended with exit code "
                  f"{exit_code}; {'; '.join(found)}). Your instructor can see the details in "
                  f"the autograder's output.\n\n{tail}")
    return {"score": 0, "execution_time": 0, "output": output, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": []}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.gradescope",
                                     description="run_autograder's last step: leave a valid "
                                     "results.json, score 0 with the reason when grading failed")
    commands = parser.add_subparsers(dest="command", required=True)
    e = commands.add_parser("ensure", help="keep a valid results.json or write a score-0 one")
    e.add_argument("results", type=Path)
    e.add_argument("--assignment", required=True)
    e.add_argument("--exit-code", type=int, required=True, help="layerlab grade's exit code")
    e.add_argument("--log", type=Path, help="what layerlab grade printed to stderr")
    args = parser.parse_args(argv)
    log = args.log.read_text(errors="replace") if args.log and args.log.is_file() else ""
    ensure(args.results, args.assignment, args.exit_code, log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
