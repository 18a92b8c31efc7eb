"""The report's sentences about the sandbox, from the facts its workers reported.

Each worker's sandbox reports, per protection, JSON-able facts with a ``status`` (see
:mod:`grader.sandbox`); :class:`grader.policy.Sessions` lists them per worker with the tasks it
served. :func:`describe_protections` is the one place that phrases them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def describe_protections(workers: Iterable[dict]) -> list[tuple[str, str]]:
    """(label, sentence) per protection; where workers differ, each version names its tasks.

    ``workers`` is what ``Sessions.protections`` returns (``GradingResult.protections``): one
    ``{"tasks": [...], "other_tasks": bool, "facts": {label: facts}}`` per started worker.
    """
    phrased = [(worker, _sentences(worker["facts"])) for worker in workers]
    labels = dict.fromkeys(label for _, sentences in phrased for label in sentences)
    return [(label, _merged(label, phrased)) for label in labels]


def _merged(label: str, phrased: list[tuple[dict, dict[str, str]]]) -> str:
    """One sentence if every worker that reports ``label`` says the same, else each version
    followed by the tasks it applied to."""
    versions: dict[str, list[dict]] = {}
    for worker, sentences in phrased:
        if label in sentences:
            versions.setdefault(sentences[label], []).append(worker)
    if len(versions) == 1:
        return next(iter(versions))
    return "; ".join(f"{sentence} ({_tasks(served)})" for sentence, served in versions.items())


def _sentences(facts: dict[str, dict]) -> dict[str, str]:
    return {label: _PHRASES[label](fact) for label, fact in facts.items()}


def _tasks(workers: list[dict]) -> str:
    """The tasks some workers served, e.g. "a2.cnn, a2.training and every other task"."""
    named = ", ".join(sorted(task for worker in workers for task in worker["tasks"]))
    if not any(worker["other_tasks"] for worker in workers):
        return named
    return f"{named} and every other task" if named else "every other task"


def _phrase(active: Callable[[dict], str], platform: str = "this OS") -> Callable[[dict], str]:
    """A protection's sentence: ``active(facts)`` when in force, else why not."""
    def sentence(fact: dict) -> str:
        status = fact["status"]
        if status == "active":
            return active(fact)
        if status == "unsupported":
            return f"not available on {platform}"
        return f"{'not applied' if status == 'failed' else 'not available'} ({fact['error']})"
    return sentence


def _landlock(fact: dict) -> str:
    also = ["no TCP bind/connect"] if fact["net"] else []
    if "signal" in fact["scoped"]:
        also.append("no signals to processes outside the sandbox")
    return "".join([f"Landlock ABI {fact['landlock_abi']}: reads only the readable files; "
                    "writes only its temp directory", *(f"; {x}" for x in also)])


_PHRASES = {
    "resource limits": _phrase(lambda f: "limits on " + ", ".join(f["limits"])),
    "network": _phrase(lambda f: f"private {' and '.join(f['namespaces'])} namespace "
                       "(no network)"),
    "filesystem": _phrase(_landlock),
    "readable files": _phrase(lambda f: "the interpreter, NumPy and the submission" + "".join(
        f", a copy of {name} (with the libraries it loaded)" for name in f["copies"])),
    "memory": _phrase(lambda f: f"{f['address_space_mb']} MiB address space"),
    "system calls": _phrase(lambda f: "seccomp: no new processes, programs, sockets, limit "
                            "changes or signals to others", "this OS/architecture"),
    "imports": _phrase(lambda f: "only the standard library, numpy and the submission's own "
                       "files" + "".join(f", {name}" for name in f["packages"])),
}
