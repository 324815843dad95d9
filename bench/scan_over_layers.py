"""What EQX001 buys: compile and run time of layer stacks before and after eqx-rewrite's fix.

The models are written the way users write them (a list of blocks applied by a for-loop); the
"after" code is what `eqx-rewrite --fix --unsafe-fixes` produces from them, so this measures the
tool's real output. Every measurement runs in a fresh subprocess (nothing cached between variants),
before and after alternately, `--repeats` times; the table shows medians and before/after ratios
(> 1: the rewrite is faster) measured in this one run. A measurement that exceeds `--timeout`
seconds is shown as such.

    python bench/scan_over_layers.py                 # N = 4, 16, 64; MLP and transformer blocks
    python bench/scan_over_layers.py --depths 4 16 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eqx_rewrite.engine import Settings, analyse  # noqa: E402

MODELS = {
    "mlp": '''
        class Block(eqx.Module):
            mlp: eqx.nn.MLP

            def __init__(self, width, *, key):
                self.mlp = eqx.nn.MLP(width, width, width, 1, key=key)

            def __call__(self, x):
                return x + self.mlp(x)


        def example():
            return jnp.ones((64,))
        ''',
    "transformer": '''
        class Block(eqx.Module):
            norm1: eqx.nn.LayerNorm
            attention: eqx.nn.MultiheadAttention
            norm2: eqx.nn.LayerNorm
            mlp: eqx.nn.MLP

            def __init__(self, width, *, key):
                k1, k2 = jr.split(key)
                self.norm1 = eqx.nn.LayerNorm(width)
                self.attention = eqx.nn.MultiheadAttention(4, width, key=k1)
                self.norm2 = eqx.nn.LayerNorm(width)
                self.mlp = eqx.nn.MLP(width, width, 4 * width, 1, key=k2)

            def __call__(self, x):
                h = jax.vmap(self.norm1)(x)
                x = x + self.attention(h, h, h)
                return x + jax.vmap(self.mlp)(jax.vmap(self.norm2)(x))


        def example():
            return jnp.ones((16, 64))
        ''',
}

STACK = '''
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
{block}

class Net(eqx.Module):
    blocks: list

    def __init__(self, depth, *, key):
        self.blocks = [Block(64, key=k) for k in jr.split(key, depth)]

    def __call__(self, x):
        for block in self.blocks:
            x = block(x)
        return x
'''

MEASURE = r'''
import importlib.util, json, sys, time
import equinox as eqx, jax, jax.numpy as jnp, jax.random as jr
spec = importlib.util.spec_from_file_location("bench_model", sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
model, x = mod.Net(int(sys.argv[2]), key=jr.PRNGKey(0)), mod.example()
kind = sys.argv[3]
if kind == "grad":
    fn = eqx.filter_jit(eqx.filter_grad(lambda m, x: jnp.sum(m(x))))
else:
    fn = eqx.filter_jit(lambda m, x: m(x))
start = time.perf_counter()
compiled = fn.lower(model, x).compile()
compile_s = time.perf_counter() - start
out = compiled(model, x); jax.block_until_ready(out)
runs = []
for _ in range(20):
    start = time.perf_counter(); jax.block_until_ready(compiled(model, x)); runs.append(time.perf_counter() - start)
runs.sort()
print(json.dumps({"compile": compile_s, "run": runs[len(runs) // 2]}))
'''


def sources(model: str) -> tuple[str, str]:
    before = STACK.format(block=textwrap.dedent(MODELS[model]))
    after = analyse(before, Settings(unsafe_fixes=True, rule_options={"EQX001": {"min-layers": 2}}), fix=True)
    if "jax.lax.scan" not in after.fixed_source:
        raise SystemExit(f"eqx-rewrite did not rewrite the {model} stack")
    return before, after.fixed_source


def measure(path: Path, depth: int, kind: str, timeout: float) -> dict | None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, str(path), str(depth), kind],
            capture_output=True, text=True, timeout=timeout, env={"JAX_PLATFORMS": "cpu", "PATH": ""},
        )
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}
    return json.loads(done.stdout)


def fmt(seconds: float | None, timeout: float) -> str:
    if seconds is None:
        return f"> {timeout:.0f} s"
    return f"{seconds:.3f} s" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--depths", nargs="+", type=int, default=[4, 16, 64])
    parser.add_argument("--kinds", nargs="+", default=["forward", "grad"], choices=["forward", "grad"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per measurement")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            before, after = sources(model)
            paths = {"before": Path(tmp, f"{model}_before.py"), "after": Path(tmp, f"{model}_after.py")}
            paths["before"].write_text(before)
            paths["after"].write_text(after)
            for depth in args.depths:
                for kind in args.kinds:
                    results = {"before": [], "after": []}
                    for _ in range(args.repeats):
                        for variant in ("before", "after"):  # alternate, so load drifts hit both
                            results[variant].append(measure(paths[variant], depth, kind, args.timeout))
                    rows.append((model, depth, kind, results))
                    print(row_text(rows[-1], args.timeout), flush=True)
    print()
    print("| stack | N | pass | compile before | compile after | compile ratio | run before | run after | run ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row_text(row, args.timeout))


def median(values: list[dict | None], key: str) -> float | None:
    good = [v[key] for v in values if v is not None and key in v]
    return statistics.median(good) if good and len(good) == len(values) else None


def row_text(row, timeout: float) -> str:
    model, depth, kind, results = row
    cells = [model, str(depth), kind]
    for key in ("compile", "run"):
        b, a = median(results["before"], key), median(results["after"], key)
        ratio = f"{b / a:.2f}x" if a and b else ("after only" if a else "–")
        cells += [fmt(b, timeout), fmt(a, timeout), ratio]
    errors = {str(v["error"]) for vs in results.values() for v in vs if v and "error" in v}
    return "| " + " | ".join(cells) + " |" + (f" error: {errors}" if errors else "")


if __name__ == "__main__":
    main()
