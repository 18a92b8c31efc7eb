"""Winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003) over normalised syntax-tree tokens.

:func:`tokens` turns a definition into the sequence that is compared: node kinds, operators,
attribute and keyword names and free names as they are, every name the definition binds as
``ID``, numbers as ``NUM`` and strings as ``STR``, no docstrings. :func:`kgram_hashes` hashes
every run of ``k`` tokens; :func:`winnow` keeps the smallest hash of every window of ``w``, so a
shared run of ``w + k - 1`` tokens always yields a shared fingerprint.
"""

from __future__ import annotations

import ast
import zlib
from collections.abc import Set
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_BASE = np.uint64(0x100000001B3)


def tokens(node: ast.AST, own: Set[str] = frozenset()) -> tuple[list[str], list[int]]:
    """The normalised tokens of a definition in source order, and the line of each.

    One pass: a name's token is decided at the end, once every name the definition binds
    (arguments, assignments, nested definitions, imports, ``except ... as``) is known; the
    names in ``own`` (the student's own helpers) count as bound too. A node without a line
    number (an operator, the arguments) takes the line of the token before it.
    """
    out, lines, names, bound = [], [], [], set()
    pending, line = [node], getattr(node, "lineno", 1)
    while pending:  # a loop, not recursion: student code may nest deeply
        item = pending.pop()
        kind = type(item)
        line = getattr(item, "lineno", line)
        if kind is ast.Name:
            if type(item.ctx) is not ast.Load:
                bound.add(item.id)
            names.append(len(out))
            token = item.id
        elif kind is ast.arg:
            bound.add(item.arg)
            token = "ID"
        elif kind is ast.Attribute:
            token = "." + item.attr
        elif kind is ast.Constant:
            token = _constant(item.value)
        elif kind is ast.keyword:
            token = f"{item.arg or '**'}="
        else:
            token = kind.__name__
            if kind in _BINDERS:
                bound.add(_BINDERS[kind](item))
        out.append(token)
        lines.append(line)
        children = []
        for field in _child_fields(kind):
            value = getattr(item, field)
            if type(value) is list:
                children += [v for v in value if isinstance(v, ast.AST) and not _is_docstring(v)]
            elif isinstance(value, ast.AST):
                children.append(value)
        children.reverse()
        pending += children
    for i in names:
        if out[i] in bound or out[i] in own:
            out[i] = "ID"
    return out, lines


def _constant(value: object) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    return "STR" if isinstance(value, (str, bytes)) else "NUM"


# The name a definition, an import or ``except ... as`` binds (assignments bind by Name).
_BINDERS = {ast.FunctionDef: lambda n: n.name, ast.AsyncFunctionDef: lambda n: n.name,
            ast.ClassDef: lambda n: n.name, ast.ExceptHandler: lambda n: n.name or "",
            ast.alias: lambda n: n.asname or n.name.split(".")[0]}


@lru_cache(maxsize=None)
def _child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold child nodes (not Load/Store/Del)."""
    return () if kind is ast.Constant else tuple(f for f in kind._fields if f != "ctx")


def _is_docstring(node: ast.AST) -> bool:
    """A bare string statement: a docstring or a string used as a comment."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


@lru_cache(maxsize=None)
def _token_id(token: str) -> int:
    return zlib.crc32(token.encode())


def kgram_hashes(token_list: list[str], k: int) -> np.ndarray:
    """A 64-bit hash of every run of ``k`` consecutive tokens (none if there are fewer)."""
    ids = np.fromiter((_token_id(t) for t in token_list), np.uint64, len(token_list))
    count = len(ids) - k + 1
    if count <= 0:
        return np.zeros(0, np.uint64)
    h = np.zeros(count, np.uint64)
    for j in range(k):  # polynomial hash modulo 2**64, then a splitmix64 finish to mix the bits
        h = h * _BASE + ids[j:j + count]
    h ^= h >> np.uint64(30)
    h *= _MIX[0]
    h ^= h >> np.uint64(27)
    h *= _MIX[1]
    return h ^ (h >> np.uint64(31))


def winnow(hashes: np.ndarray, w: int) -> np.ndarray:
    """The positions winnowing keeps: the rightmost minimum of every window of ``w`` hashes."""
    if len(hashes) == 0:
        return np.zeros(0, np.intp)
    if len(hashes) <= w:
        return np.array([len(hashes) - 1 - np.argmin(hashes[::-1])])
    windows = sliding_window_view(hashes, w)[:, ::-1]
    return np.unique(np.arange(len(windows)) + (w - 1 - np.argmin(windows, axis=1)))
