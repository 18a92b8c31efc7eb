"""Assignment specs: what each assignment's submission contains and how it is graded.

Each ``assignments/<folder>/assignment.toml`` names the assignment id, its title, the student
modules, the task ids with their titles and the sandbox limits. Function names come from the
stub modules themselves, so the spec never repeats them.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Packages of ours that an assignment's [imports] table may let a task import in the sandbox.
PROVIDED_PACKAGES = ("core_ext",)


@dataclass
class Limits:
    """Resource limits for one worker process and each call into it."""

    call_timeout: float = 10.0
    cpu_seconds: int = 300
    memory_mb: int = 4096
    file_size_mb: int = 16
    open_files: int = 64
    max_reply_mb: int = 512
    startup_timeout: float = 30.0


class UsageError(Exception):
    """Bad input from the user (path, id, config): reported in one line, exit code 2."""


@dataclass
class Assignment:
    id: str
    title: str
    folder: Path
    modules: list[str]
    tasks: dict[str, str]
    limits: Limits
    imports: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def public_tests(self) -> Path:
        return self.folder / "tests"

    @property
    def solution(self) -> Path:
        return ROOT / "solutions" / self.folder.name

    @property
    def hidden_tests(self) -> Path | None:
        path = self.solution / "hidden_tests"
        return path if path.is_dir() else None

    def reference_module(self, module: str) -> str:
        """The import name of the reference solution of one of the assignment's modules."""
        return f"solutions.{self.folder.name}.{module}"

    @property
    def mistakes_module(self) -> str:
        """The import name of the instructor's list of known mistakes (may not exist)."""
        return self.reference_module("mistakes")

    def visibility(self, test_file: Path) -> str:
        """``hidden`` for a test file among the hidden tests, else ``public``."""
        hidden = self.hidden_tests
        inside = hidden is not None and Path(test_file).is_relative_to(hidden)
        return "hidden" if inside else "public"

    def functions(self) -> dict[str, str]:
        """Map each public function and class name in the stubs to its module."""
        found = {}
        for module in self.modules:
            tree = ast.parse((self.folder / f"{module}.py").read_text())
            for node in tree.body:
                definition = isinstance(node, (ast.FunctionDef, ast.ClassDef))
                if definition and not node.name.startswith("_"):
                    found[node.name] = module
        return found


def _load(toml_path: Path) -> Assignment:
    where = toml_path.relative_to(ROOT) if toml_path.is_relative_to(ROOT) else toml_path
    try:
        data = tomllib.loads(toml_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{where}: not valid TOML ({exc})") from None
    for key, kind in (("id", str), ("title", str), ("modules", list), ("tasks", dict)):
        if not isinstance(data.get(key), kind):
            raise UsageError(f"{where}: '{key}' must be a {kind.__name__}")
    missing = [m for m in data["modules"] if not (toml_path.parent / f"{m}.py").is_file()]
    if missing:
        raise UsageError(f"{where}: modules without a stub file: {', '.join(missing)}")
    known = {f.name: f.type for f in fields(Limits)}
    limits = data.get("limits", {})
    unknown = sorted(set(limits) - set(known))
    if unknown or not all(isinstance(v, (int, float)) for v in limits.values()):
        raise UsageError(f"{where}: [limits] accepts numbers for {', '.join(known)}; "
                         f"got {', '.join(unknown) or 'a non-number'}")
    return Assignment(data["id"], data["title"], toml_path.parent, list(data["modules"]),
                      {str(k): str(v) for k, v in data["tasks"].items()}, Limits(**limits),
                      _imports(where, data.get("imports", {}), data["tasks"]))


def _imports(where, table, tasks) -> dict[str, tuple[str, ...]]:
    """``[imports]``: task id -> packages of ours its tests may import inside the sandbox."""
    if not isinstance(table, dict):
        raise UsageError(f"{where}: [imports] must be a table of task id = [package, ...]")
    found = {}
    for task, packages in table.items():
        if task not in tasks:
            raise UsageError(f"{where}: [imports] names the unknown task '{task}'")
        if not isinstance(packages, list) or not all(p in PROVIDED_PACKAGES for p in packages):
            raise UsageError(f"{where}: [imports] '{task}' must list packages among "
                             f"{', '.join(PROVIDED_PACKAGES)}; got {packages!r}")
        found[task] = tuple(sorted(set(packages)))
    return found


def all_assignments(root: Path = ROOT) -> dict[str, Assignment]:
    found = {}
    for toml_path in sorted((root / "assignments").glob("*/assignment.toml")):
        spec = _load(toml_path)
        found[spec.id] = spec
    return found


def get(assignment_id: str) -> Assignment:
    specs = all_assignments()
    if assignment_id not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise UsageError(f"unknown assignment '{assignment_id}' (known: {known})")
    return specs[assignment_id]
