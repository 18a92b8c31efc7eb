"""Which submissions share code: winnowed fingerprints of normalised syntax trees, per function.

Each public function of the assignment, and each method of its classes, is read where the
student defined it (as :func:`grader.submission.locate` finds it; nothing is run); the student's
other top-level functions and classes are pooled as one more unit, :data:`HELPERS`, so code
moved into a renamed helper is still compared. Each definition becomes a token sequence by
walking its syntax tree (:mod:`grader.winnowing`): node kinds, operators, attribute and keyword
names and the free names it uses (``np``, ``len``); every name the definition binds (arguments,
locals) becomes ``ID``, numbers ``NUM`` and strings ``STR``; docstrings, comments and layout are
gone. Renamed variables, reformatting and moved or reordered functions change nothing.

Fingerprints follow MOSS (Schleimer, Wilkerson and Aiken, *Winnowing: local algorithms for
document fingerprinting*, SIGMOD 2003): every ``k`` consecutive tokens are hashed, and of every
``w`` consecutive hashes the smallest is kept, so a shared run of ``w + k - 1`` tokens always
yields a shared fingerprint. Fingerprints that occur anywhere in the stub of the same function
(for helpers: anywhere in the assignment's folder) are dropped from both sides: the given
skeleton never counts. A function left with fewer than ``min_fingerprints`` is too short to
tell copying from coincidence and is not scored.

The score of two definitions is the share of the smaller fingerprint set found in the other,
``|A ∩ B| / min(|A|, |B|)``: a copy padded with extra code still scores high, which the Jaccard
index would hide. A pair of submissions is listed when one of its functions reaches the
threshold; the pair's score is ``Σ |A ∩ B| / Σ min(|A|, |B|)`` over every function both scored.
The counts come from an inverted index (per function, a sparse student x fingerprint matrix
times its transpose), so the cost follows the fingerprints students share, not the pairs.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import tempfile
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy import sparse

from grader import batch
from grader.winnowing import kgram_hashes, tokens, winnow
from grader.spec import Assignment, UsageError
from grader.submission import _is_module, _top_level, locate, stage

OnProgress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Params:
    """The fingerprinting parameters (see the module docstring)."""

    k: int = 10
    w: int = 4
    threshold: float = 0.8
    min_fingerprints: int = 8


@dataclass(frozen=True)
class Segment:
    """One definition as written: its file, first line and text, and for highlighting the
    hashes of its k-grams outside the stub, the index of each one's first token and the source
    line of every token."""

    file: str
    first_line: int
    source: str
    hashes: np.ndarray
    starts: np.ndarray
    token_lines: np.ndarray


@dataclass(frozen=True)
class Function:
    """A function or method of one submission (or its pooled helpers): its fingerprints (sorted,
    stub ones removed) and the definitions they come from."""

    name: str
    fingerprints: np.ndarray
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Submission:
    """One student's functions, by name (``Class.method`` for methods)."""

    student: str
    functions: dict[str, Function]


@dataclass(frozen=True)
class Skipped:
    """A submission that could not be read, and why."""

    student: str
    reason: str


class Match(NamedTuple):
    """One function two submissions share: its score, the fingerprints they share and how many
    each has (a tuple: a class of copies makes hundreds of thousands)."""

    name: str
    score: float
    shared: int
    size_a: int
    size_b: int


@dataclass(frozen=True)
class Pair:
    """Two submissions with at least one matching function: the pair's score, its matches (best
    first) and how many functions both wrote long enough to score."""

    a: str
    b: str
    score: float
    matches: list[Match]
    compared: int


@dataclass
class Report:
    """A class compared: what was read, what was skipped, and the pairs listed (best first)."""

    assignment: str
    params: Params
    submissions: dict[str, Submission]
    skipped: list[Skipped]
    pairs: list[Pair]

    @property
    def compared(self) -> int:
        n = len(self.submissions)
        return n * (n - 1) // 2


# -- reading submissions ----------------------------------------------------------------------

HELPERS = "(helpers)"  # the student's own top-level functions and classes, pooled


class Unreadable(Exception):
    """A submission that cannot be compared: the message says why."""


@dataclass(frozen=True)
class _Definition:
    name: str
    file: str
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    lines: list[str]

    @property
    def first_line(self) -> int:
        return min([self.node.lineno, *(d.lineno for d in self.node.decorator_list)])

    @property
    def source(self) -> str:
        return "\n".join(self.lines[self.first_line - 1:self.node.end_lineno])


@dataclass(frozen=True)
class Given:
    """What the assignment's folder hands out: every k-gram hash of each stub function and
    method by name (under :data:`HELPERS`, of everything in the folder: stubs and given code
    alike), and the text of each definition (a copy of one is not even tokenised)."""

    hashes: dict[str, np.ndarray]
    texts: frozenset[str]

    @classmethod
    def of(cls, spec: Assignment, params: Params) -> Given:
        trees = {p.stem: _parse_file(p) for p in sorted(spec.folder.glob("*.py"))
                 if _is_module(p.name)}
        functions = spec.functions()
        stubs = list(_definitions({m: trees[m] for m in spec.modules}, functions))
        given = list(_helpers(trees, set(functions)))
        own = frozenset(d.name for d in given)

        def kgrams(definition: _Definition) -> np.ndarray:
            return kgram_hashes(tokens(definition.node, own)[0], params.k)
        hashes = {d.name: np.unique(kgrams(d)) for d in stubs}
        hashes[HELPERS] = np.unique(np.concatenate([_EMPTY, *map(kgrams, stubs + given)]))
        return cls(hashes, frozenset(d.source for d in stubs + given))


def read(student: str, path: Path, spec: Assignment, given: Given,
         params: Params) -> Submission:
    """Fingerprint each function of one submission (a folder or .zip); raise Unreadable."""
    with tempfile.TemporaryDirectory(prefix="layerlab-similarity-") as tmp:
        staged = Path(tmp)
        try:
            stage(path, spec, staged)
        except UsageError as exc:
            raise Unreadable(str(exc).removeprefix(f"{path}: ")) from None
        trees = {p.stem: _parse_file(p) for p in sorted(staged.glob("*.py"))
                 if _is_module(p.name)}
        layout = locate(staged, spec)
    helpers = list(_helpers(trees, set(layout.modules)))
    own = frozenset(d.name for d in helpers)  # called by any name, they are the same code
    found = {d.name: _function(d.name, [d], given, params, own)
             for d in _definitions(trees, layout.modules)}
    if helpers:
        found[HELPERS] = _function(HELPERS, helpers, given, params, own)
    return Submission(student, found)


def _parse_file(path: Path) -> tuple[ast.Module, list[str]]:
    """The file's syntax tree (as Python reads it: a coding line, a BOM) and its lines."""
    data = path.read_bytes()
    try:
        tree = ast.parse(data, path.name)
    except SyntaxError as exc:
        where = f" on line {exc.lineno}" if exc.lineno else ""
        raise Unreadable(f"{path.name}: syntax error{where}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise Unreadable(f"{path.name} cannot be parsed ({type(exc).__name__})") from None
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding, errors="replace").removeprefix("\ufeff")
    return tree, text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _definitions(trees: dict[str, tuple[ast.Module, list[str]]],
                 where: dict[str, str]) -> Iterator[_Definition]:
    """The definition of each name in the module ``where`` gives (the last one there, as
    Python keeps); a class as its methods, named ``Class.method``."""
    for module, (tree, lines) in trees.items():
        wanted = {name for name, home in where.items() if home == module}
        last = {name: node for name, node in _top_level(tree.body) if name in wanted}
        for name, node in last.items():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield _Definition(name, f"{module}.py", node, lines)
            elif isinstance(node, ast.ClassDef):
                methods = {m.name: m for m in node.body if isinstance(m, _FUNCTIONS)}
                for method, item in methods.items():
                    yield _Definition(f"{name}.{method}", f"{module}.py", item, lines)


def _helpers(trees: dict[str, tuple[ast.Module, list[str]]],
             assigned: set[str]) -> Iterator[_Definition]:
    """Every top-level function and class whose name is not one of ``assigned``."""
    for module, (tree, lines) in trees.items():
        last = {name: node for name, node in _top_level(tree.body)
                if name not in assigned and isinstance(node, (*_FUNCTIONS, ast.ClassDef))}
        for name, node in last.items():
            yield _Definition(name, f"{module}.py", node, lines)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_EMPTY = np.zeros(0, np.uint64)


def _function(name: str, definitions: list[_Definition], given: Given, params: Params,
              own: frozenset[str]) -> Function:
    """The fingerprints of one function (or of pooled helpers), without the stub's."""
    stub = given.hashes.get(name, _EMPTY)
    segments, kept = [], [_EMPTY]
    for definition in definitions:
        source = definition.source
        if source in given.texts:
            continue  # handed out as it is: nothing of it can count
        token_list, token_lines = tokens(definition.node, own)
        hashes = kgram_hashes(token_list, params.k)
        kept.append(hashes[winnow(hashes, params.w)])
        own = ~np.isin(hashes, stub)
        segments.append(Segment(definition.file, definition.first_line, source, hashes[own],
                                np.flatnonzero(own), np.array(token_lines, np.int32)))
    return Function(name, np.setdiff1d(np.concatenate(kept), stub), tuple(segments))


# -- comparing --------------------------------------------------------------------------------

def similarity(folder: Path, spec: Assignment, params: Params = Params()) -> Report:
    """Read every submission in ``folder`` and list the pairs that share code."""
    submissions, skipped = read_class(folder, spec, params)
    return Report(spec.id, params, submissions, skipped, compare(submissions, params))


def read_class(folder: Path, spec: Assignment, params: Params,
               on_progress: OnProgress | None = None) -> tuple[dict[str, Submission],
                                                              list[Skipped]]:
    """Fingerprint every submission in ``folder``, found and named as ``layerlab batch`` finds
    them (:func:`grader.batch.discover`); the unreadable ones are skipped, and why."""
    given = Given.of(spec, params)
    spec = dataclasses.replace(spec)
    spec.functions = cache(spec.functions)  # it reads the stubs: once serves every submission
    submissions, skipped = {}, []
    with tempfile.TemporaryDirectory(prefix="layerlab-similarity-") as scratch:
        entries = batch.discover(folder, Path(scratch))
        for done, entry in enumerate(entries, start=1):
            try:
                submissions[entry.student] = read(entry.student, _path(entry, Path(scratch)),
                                                  spec, given, params)
            except Unreadable as exc:
                skipped.append(Skipped(entry.student, str(exc)))
            if on_progress:
                on_progress(done, len(entries), entry.student)
    return submissions, skipped


def _path(entry: batch.Entry, scratch: Path) -> Path:
    """The entry's folder or .zip; loose files (as Canvas names them) packed into a zip."""
    if entry.problem:
        raise Unreadable(entry.problem)
    if entry.path is not None:
        return entry.path
    try:
        packed = batch.pack(entry)
    except (ValueError, OSError) as exc:
        raise Unreadable(str(exc)) from None
    path = scratch / f"{entry.student}.zip"
    path.write_bytes(packed)
    return path


def compare(submissions: dict[str, Submission], params: Params,
            on_progress: OnProgress | None = None) -> list[Pair]:
    """The pairs with at least one function scoring ``params.threshold`` or more, best first."""
    students = sorted(submissions)
    n = len(students)
    shared_sum, smaller_sum, both = np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n), int)
    names = sorted({name for s in submissions.values() for name in s.functions})
    found = []  # per function: (function, a, b, shared, size a, size b) of each pair above
    for f, name in enumerate(names):
        rows, sets = [], []
        for i, student in enumerate(students):
            function = submissions[student].functions.get(name)
            if function is not None and len(function.fingerprints) >= params.min_fingerprints:
                rows.append(i)
                sets.append(function.fingerprints)
        if len(rows) >= 2:
            shared, sizes = _shared_counts(sets)
            smaller = np.minimum.outer(sizes, sizes)
            index, rows = np.ix_(rows, rows), np.array(rows)
            shared_sum[index] += shared
            smaller_sum[index] += smaller
            both[index] += 1
            above = (shared >= params.threshold * smaller) & (shared > 0)
            i, j = np.nonzero(np.triu(above, 1))
            found.append(np.stack([np.full(len(i), f), rows[i], rows[j], shared[i, j],
                                   sizes[i], sizes[j]]))
        if on_progress:
            on_progress(f + 1, len(names), name)
    return _pairs(np.concatenate([np.zeros((6, 0), int), *found], axis=1).astype(int),
                  students, names, shared_sum / np.maximum(smaller_sum, 1), both)


def _pairs(found: np.ndarray, students: list[str], names: list[str], scores: np.ndarray,
           both: np.ndarray) -> list[Pair]:
    """Group the matches by pair, each pair's best first, and the pairs best first."""
    function, a, b, shared, size_a, size_b = found
    score = shared / np.minimum(size_a, size_b)
    order = np.lexsort((function, -score, b, a))
    rows = zip(*(column[order].tolist() for column in (a, b, function, score, shared, size_a,
                                                       size_b)), strict=True)
    pairs = []
    for (i, j), group in groupby(rows, key=itemgetter(0, 1)):
        matches = [Match(names[f], *rest) for _, _, f, *rest in group]
        pairs.append(Pair(students[i], students[j], float(scores[i, j]), matches,
                          int(both[i, j])))
    return sorted(pairs, key=lambda p: (-p.score, p.a, p.b))


def _shared_counts(sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """How many fingerprints each two sets share (a dense matrix), and each set's size.

    An inverted index as a sparse matrix: one row per set, one column per fingerprint held by
    at least two sets; its product with its transpose counts the shared columns of each pair.
    """
    sizes = np.array([len(s) for s in sets])
    values, column = np.unique(np.concatenate(sets), return_inverse=True)
    held = np.bincount(column, minlength=len(values))
    keep = held[column] >= 2
    row = np.repeat(np.arange(len(sets)), sizes)[keep]
    _, column = np.unique(column[keep], return_inverse=True)
    matrix = sparse.csr_matrix((np.ones(len(row), np.float32), (row, column)),
                               shape=(len(sets), int(column.max(initial=-1)) + 1))
    return (matrix @ matrix.T).toarray(), sizes


def matched_lines(a: Segment, b: Function, k: int) -> set[int]:
    """The source lines of ``a`` covered by a k-gram (outside the stub) that ``b`` also has."""
    other = np.concatenate([_EMPTY, *(segment.hashes for segment in b.segments)])
    starts = a.starts[np.isin(a.hashes, other)]
    if len(starts) == 0:
        return set()
    cover = np.zeros(len(a.token_lines) + 1, np.int32)
    np.add.at(cover, starts, 1)
    np.add.at(cover, starts + k, -1)
    return set(a.token_lines[np.cumsum(cover)[:-1] > 0].tolist())
