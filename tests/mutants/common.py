"""What every mutant corpus shares: a variant of a reference solution, and how to build one.

A variant is the reference with one or more patches: code appended to a module (it overrides
the reference definitions, so a mutant is the reference plus exactly one bug) or a one-line
change in place. ``task`` is the task a mutant must cost points on; ``dependents`` are the
composite tasks (built from the student's own pieces) that may lose points with it, and nothing
else may. Alternatives are variants with no task: correct rewrites that must score full marks.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

Patch = tuple[str, str | tuple[str, str]]


@dataclass(frozen=True)
class Variant:
    """The reference with ``patches`` applied: (module, code appended to it) or
    (module, (old text, new text)) for a change in place."""

    name: str
    patches: tuple[Patch, ...]
    task: str = ""
    dependents: tuple[str, ...] = ()


def appended(name: str, module: str, task: str, code: str,
             dependents: tuple[str, ...] = ()) -> Variant:
    """A variant that appends ``code`` (dedented) to ``module``."""
    return Variant(name, ((module, textwrap.dedent(code).strip("\n")),), task, tuple(dependents))


def replaced(table: dict[str, tuple[str, str, str, str]],
             dependents: Callable[[str], tuple[str, ...]]) -> list[Variant]:
    """Variants from ``{name: (task, file, old text, new text)}``; ``dependents(task)`` gives
    the composite tasks each may also cost points on."""
    return [Variant(name, ((file.removesuffix(".py"), (old, new)),), task,
                    tuple(dependents(task)))
            for name, (task, file, old, new) in table.items()]


def submission(name: str, *parts: Variant) -> Variant:
    """One alternative submission made of several correct rewrites."""
    return Variant(name, tuple(patch for part in parts for patch in part.patches))


def build(reference: Path, variant: Variant, dest: Path) -> Path:
    """Write the reference modules in ``reference`` with ``variant`` applied into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    modules = {source.stem for source in reference.glob("*.py")}
    unknown = sorted({module for module, _ in variant.patches} - modules)
    if unknown:
        raise ValueError(f"{variant.name}: no module {', '.join(unknown)} in {reference}")
    for source in reference.glob("*.py"):
        text = source.read_text()
        for module, change in variant.patches:
            if source.stem != module:
                continue
            if isinstance(change, tuple):
                old, new = change
                if text.count(old) != 1:
                    raise ValueError(f"{variant.name}: the reference {module}.py changed; "
                                     f"{old!r} is not there exactly once")
                text = text.replace(old, new)
            else:
                text = text.rstrip("\n") + f"\n\n\n# --- {variant.name} ---\n" + change + "\n"
        (dest / source.name).write_text(text)
    return dest
