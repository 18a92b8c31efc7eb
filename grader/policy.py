"""Per-task import policy: which of our packages a task's tests let the submission import.

An assignment's ``[imports]`` table names the tasks that may import a package of ours (today
only ``core_ext``, the fast layers) inside the sandbox. Every other task runs in a worker where
that import fails with a message saying why, so a naive layer that calls a fast kernel scores 0
for its task instead of passing on borrowed code. Each distinct policy gets its own worker; the
package is copied (``.py`` files and compiled extensions only) into a read-only folder of its
own, so the worker never sees the rest of the repository (the solutions, the hidden tests).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import shutil
import tempfile
from pathlib import Path

from grader.session import WorkerSession
from grader.spec import PROVIDED_PACKAGES, Assignment

_NEVER = {"solutions": "the reference solutions are not available to submissions",
          "grader": "the grader is not available to submissions"}


class Sessions:
    """The workers of one grading run, one per import policy, started on first use."""

    def __init__(self, submission_dir: Path, spec: Assignment):
        self.submission_dir, self.spec = Path(submission_dir), spec
        self._sessions: dict[tuple[str, ...], WorkerSession] = {}
        self._packages: Path | None = None

    def for_task(self, task: str) -> WorkerSession:
        policy = self.spec.imports.get(task, ())
        if policy not in self._sessions:
            self._sessions[policy] = WorkerSession(
                self.submission_dir, self.spec.limits, policy,
                extra_paths=(self._stage(policy),) if policy else (),
                refusals=self._refusals(policy))
        return self._sessions[policy]

    @property
    def protections(self) -> list[dict]:
        """What each started worker's sandbox enforced, with the tasks it served:
        ``{"tasks": [...], "other_tasks": bool, "facts": {...}}`` (phrased by
        :func:`grader.protections.describe_protections`)."""
        return [{"tasks": sorted(t for t, p in self.spec.imports.items() if p == policy),
                 "other_tasks": policy == (), "facts": session.protections}
                for policy, session in self._sessions.items() if session.protections]

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        if self._packages is not None:
            shutil.rmtree(self._packages, ignore_errors=True)
            self._packages = None

    def _refusals(self, policy: tuple[str, ...]) -> dict[str, str]:
        refusals = dict(_NEVER)
        for package in PROVIDED_PACKAGES:
            if package in policy:
                continue
            allowed = sorted(t for t, p in self.spec.imports.items() if package in p)
            where = f" (it is allowed only in {', '.join(allowed)})" if allowed else ""
            refusals[package] = (f"the functions graded here must be your own NumPy code, "
                                 f"not {package}'s fast layers{where}")
        return refusals

    def _stage(self, policy: tuple[str, ...]) -> Path:
        """A folder holding a copy of each package in ``policy``, for the worker's sys.path."""
        if self._packages is None:
            self._packages = Path(tempfile.mkdtemp(prefix="layerlab-packages-"))
        for package in policy:
            dest = self._packages / package
            if not dest.exists():
                copy_package(package, dest)
        return self._packages


def copy_package(package: str, dest: Path) -> None:
    """Copy an installed flat package's modules (source and compiled) into ``dest``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the package {package} is not installed")
    source = Path(list(spec.submodule_search_locations)[0])
    suffixes = (".py", *importlib.machinery.EXTENSION_SUFFIXES)
    dest.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and path.name.endswith(suffixes):
            shutil.copy2(path, dest / path.name)
