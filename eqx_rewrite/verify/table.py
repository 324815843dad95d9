"""The verification's outcome: a table per file for people, and a JSON-ready list for tools."""

from __future__ import annotations

import math

from .harness import Check, Verdict, Verification, indent


def render_text(verification: Verification, written: bool) -> str:
    out = []
    for check in verification.broken:
        out.append(f"verify: {check.label} fails on the original code, so it verifies nothing:\n{indent(check.before.error)}\n")
    for v in verification.verdicts:
        codes = ", ".join(v.codes)
        if not v.verified:
            out.append(f"verify: held back {v.relative} ({codes}): {v.reason}\n")
            continue
        out.append(f"verify: {'verified and written' if written else 'verified'} {v.relative} ({codes})\n")
        out.extend(_rows(v))
    return "".join(out)


def _rows(v: Verdict) -> list[str]:
    """One row per entry that covers the file; speed-ups are before / after (above 1 is faster)."""
    header = ("rule", "entry", "max |Δ|", "compile before → after", "×", "run before → after", "×")
    rows = [header]
    for check in v.checks:
        if check.comparison is None:  # the verify command: it passed, there is nothing to time
            rows.append((", ".join(v.codes), check.label, "passed", "", "", "", ""))
            continue
        b, a = check.before, check.after
        rows.append((
            ", ".join(v.codes),
            check.label,
            f"{check.comparison.max_abs:.3g}",
            f"{_seconds(b.first['compile'])} → {_seconds(a.first['compile'])}",
            _ratio(b.first["compile"], a.first["compile"]),
            f"{_seconds(b.second['wall'])} → {_seconds(a.second['wall'])}",
            _ratio(b.second["wall"], a.second["wall"]),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows]


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _ratio(before: float, after: float) -> str:
    return f"{before / after:.2f}×" if after > 0 else "–"


def as_json(verification: Verification) -> list[dict]:
    return [
        {
            "filename": str(v.path),
            "status": "verified" if v.verified else "held back",
            "reason": v.reason or None,
            "rules": v.codes,
            "checks": [_check_json(c) for c in v.checks],
        }
        for v in verification.verdicts
    ] + [
        {"filename": None, "status": "broken entry", "reason": f"{c.label} fails on the original code: {c.before.error}", "rules": [], "checks": []}
        for c in verification.broken
    ]


def _check_json(check: Check) -> dict:
    data: dict = {"entry": check.label, "passed": check.passed}
    if check.comparison is not None:
        data["max_abs_diff"] = None if math.isnan(check.comparison.max_abs) else check.comparison.max_abs
        for side, observation in (("before", check.before), ("after", check.after)):
            data[side] = {
                "first_call_s": observation.first["wall"],
                "steady_call_s": observation.second["wall"],
                "compile_s": observation.first["compile"],
                "trace_s": observation.first["trace"],
            }
    return data
