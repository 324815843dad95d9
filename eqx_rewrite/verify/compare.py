"""Compare what an entry returned before and after the fixes: structure, shapes, dtypes, values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Defaults per float width, used where the user gave no --rtol/--atol; float32's are the documented ones.
TOLERANCES = {
    8: (1e-7, 1e-9),
    4: (1e-5, 1e-6),
    2: (1e-2, 1e-3),
}

Leaf = tuple[str, bool, object]  # (path, inside an eqx.Module, numpy array or ("static", type, value))


@dataclass(frozen=True)
class Comparison:
    ok: bool
    max_abs: float  # over every compared float leaf; 0 when all equal
    message: str = ""  # on mismatch: the leaf's path and what differs


def compare(before: list[Leaf], after: list[Leaf], rtol: float | None, atol: float | None, layout_may_change: bool) -> Comparison:
    """`layout_may_change`: the fixes restack Modules (EQX001, EQX003), so only leaves outside Modules count."""
    if [p for p, _, _ in before] != [p for p, _, _ in after]:
        if not layout_may_change:
            return Comparison(False, float("nan"), _structure_message(before, after))
        before = [leaf for leaf in before if not leaf[1]]
        after = [leaf for leaf in after if not leaf[1]]
        if not before:
            return Comparison(False, float("nan"), "the entry returns only Modules, whose layout this rewrite changes; return their outputs instead")
        if [p for p, _, _ in before] != [p for p, _, _ in after]:
            return Comparison(False, float("nan"), _structure_message(before, after))
    worst = 0.0
    for (path, _, old), (_, _, new) in zip(before, after):
        problem, diff = _compare_leaf(old, new, rtol, atol)
        if problem:
            return Comparison(False, diff, f"{path}: {problem}")
        worst = max(worst, diff)
    return Comparison(True, worst)


def _structure_message(before: list[Leaf], after: list[Leaf]) -> str:
    old, new = [p for p, _, _ in before], [p for p, _, _ in after]
    for a, b in zip(old, new):
        if a != b:
            return f"the returned pytree's structure differs: leaf {a} became {b}"
    longer, which = (old, "lost") if len(old) > len(new) else (new, "gained")
    return f"the returned pytree's structure differs: {which} leaf {longer[min(len(old), len(new))]}"


def _compare_leaf(old: object, new: object, rtol: float | None, atol: float | None) -> tuple[str, float]:
    if isinstance(old, tuple) or isinstance(new, tuple):
        return ("" if old == new else f"{_describe(old)} became {_describe(new)}"), 0.0
    assert isinstance(old, np.ndarray) and isinstance(new, np.ndarray)
    if old.shape != new.shape or old.dtype != new.dtype:
        return f"{old.dtype}{list(old.shape)} became {new.dtype}{list(new.shape)}", float("nan")
    if old.size == 0:
        return "", 0.0
    if not np.issubdtype(old.dtype, np.inexact):
        unequal = old != new
        return (f"{int(unequal.sum())} of {old.size} values differ (exact dtype {old.dtype})" if unequal.any() else ""), 0.0
    default_rtol, default_atol = TOLERANCES.get(np.dtype(old.dtype).itemsize // (2 if np.iscomplexobj(old) else 1), TOLERANCES[4])
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    a, b = old.astype(np.complex128 if np.iscomplexobj(old) else np.float64), new.astype(np.complex128 if np.iscomplexobj(new) else np.float64)
    same_nan = np.isnan(a) == np.isnan(b)
    finite = ~np.isnan(a) & ~np.isnan(b)
    with np.errstate(invalid="ignore"):
        diff = np.where(finite & (a != b), np.abs(a - b), 0.0)
    max_abs = float(diff.max())
    bad = ~same_nan | (finite & ~np.isclose(a, b, rtol=rtol, atol=atol))
    if bad.any():
        return f"max |Δ| {max_abs:.3g} exceeds rtol={rtol:g}, atol={atol:g} at {int(bad.sum())} of {old.size} values", max_abs
    return "", max_abs


def _describe(value: object) -> str:
    if isinstance(value, tuple):
        _, kind, content = value
        return kind if content is None else repr(content)
    return f"an array {value.dtype}{list(value.shape)}"  # type: ignore[attr-defined]
