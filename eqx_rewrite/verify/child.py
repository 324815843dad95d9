"""Runs one entry in a fresh interpreter and pickles what it returned and how long it took.

Started by the harness as a script (`python child.py TREE FILE FUNC OUT`), inside a temporary copy of
the user's project, so that it imports nothing of eqx-rewrite and the user's code sees only its own tree.
"""

from __future__ import annotations

import importlib
import importlib.util
import pickle
import sys
import time
import traceback
from pathlib import Path

# JAX's own monitoring events: tracing, lowering to MLIR, and XLA's backend compile.
TRACE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration")
COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class Durations:
    def __init__(self) -> None:
        self.compile = 0.0
        self.trace = 0.0

    def __call__(self, event: str, seconds: float, **_: object) -> None:
        if event == COMPILE_EVENT:
            self.compile += seconds
        elif event in TRACE_EVENTS:
            self.trace += seconds


def load_entry(tree: Path, file: Path, func: str):
    """Import the entry's file as the module it is in the project, so relative imports work."""
    parts = [file.stem]
    package = file.parent
    while (package / "__init__.py").is_file() and package != tree:
        parts.insert(0, package.name)
        package = package.parent
    sys.path.insert(0, str(package))
    if len(parts) > 1 or file.stem != "__init__":
        module = importlib.import_module(".".join(parts))
    else:  # pragma: no cover - an __init__.py entry at the top of the tree
        spec = importlib.util.spec_from_file_location("__eqx_verify_entry__", file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return getattr(module, func)


def timed_call(fn, jax, durations: Durations) -> tuple[object, dict[str, float]]:
    before_compile, before_trace = durations.compile, durations.trace
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    wall = time.perf_counter() - start
    return out, {"wall": wall, "compile": durations.compile - before_compile, "trace": durations.trace - before_trace}


def leaves_of(out, jax) -> list[tuple[str, bool, object]]:
    """(path, inside an eqx.Module?, value) for every leaf; values are numpy arrays or static descriptions."""
    import numpy as np

    equinox = sys.modules.get("equinox")
    is_module = (lambda x: isinstance(x, equinox.Module)) if equinox else None
    result = []
    for path, part in jax.tree_util.tree_flatten_with_path(out, is_leaf=is_module)[0]:
        inside = bool(is_module and is_module(part))
        for sub_path, leaf in jax.tree_util.tree_flatten_with_path(part)[0] if inside else [((), part)]:
            name = jax.tree_util.keystr(tuple(path) + tuple(sub_path)) or "<root>"
            result.append((name, inside, _value(leaf, np)))
    return result


def _value(leaf, np) -> object:
    if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
        return np.asarray(leaf)
    if isinstance(leaf, (bool, int, float, complex, np.generic)):
        return np.asarray(leaf)
    if leaf is None or isinstance(leaf, (str, bytes)):
        return ("static", type(leaf).__name__, leaf)
    # Functions and other objects: their identity differs between processes, only the kind can match.
    return ("static", type(leaf).__qualname__, None)


def loaded_files(tree: Path) -> list[str]:
    """Project files the entry imported: a changed file nobody imports was not verified."""
    files = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path:
            try:
                files.add(Path(path).resolve().relative_to(tree).as_posix())
            except ValueError:
                continue
    return sorted(files)


def main(tree: str, file: str, func: str, out_path: str) -> int:
    tree_path = Path(tree).resolve()
    report: dict[str, object] = {"ok": False}
    try:
        fn = load_entry(tree_path, tree_path / file, func)
        import jax

        durations = Durations()
        jax.monitoring.register_event_duration_secs_listener(durations)
        out, first = timed_call(fn, jax, durations)
        _, second = timed_call(fn, jax, durations)
        report.update(ok=True, leaves=leaves_of(out, jax), first=first, second=second)
    except BaseException:  # noqa: BLE001 - whatever the user's code raises is the result
        report["error"] = traceback.format_exc()
    report["files"] = loaded_files(tree_path)
    with open(out_path, "wb") as handle:
        pickle.dump(report, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
