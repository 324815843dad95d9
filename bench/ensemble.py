"""What EQX003 buys: building and evaluating an ensemble before and after eqx-rewrite's fix.

MLP(32 -> 8, width 64, depth 2) members on a (128, 32) batch, built over split keys and evaluated
member by member (the user-style code below) versus eqx-rewrite's filter_vmap version. Eager
(un-jitted) and jitted runs, compile time, medians over alternating rounds in one process;
ratio = before/after (> 1: the rewrite is faster). Outputs are checked equal.

    python bench/ensemble.py [--members 8 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from _rewrite import load, rewrite  # noqa: E402

ENSEMBLE = '''
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


def predict(key, x, members):
    models = [eqx.nn.MLP(32, 8, 64, 2, key=k) for k in jr.split(key, members)]
    return jnp.stack([jax.vmap(m)(x) for m in models])
'''


def timed(fn, *args) -> float:
    import jax

    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", nargs="+", type=int, default=[8, 64])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import jax
    import jax.random as jr
    import numpy as np

    variants = {"before": load(ENSEMBLE, "ens_before"), "after": load(rewrite(ENSEMBLE, "EQX003"), "ens_after")}
    key, x = jr.PRNGKey(0), jr.normal(jr.PRNGKey(1), (128, 32))
    print("| members | eager before | eager after | ratio | compile before | compile after | ratio | jitted before | jitted after | ratio | outputs equal |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for members in args.members:
        eager, compiled, jitted, compile_s = ({n: [] for n in variants} for _ in range(4))
        for name, module in variants.items():
            fn = jax.jit(module.predict, static_argnums=2)
            compile_s[name] = timed(lambda: fn.lower(key, x, members).compile())
            compiled[name] = fn
            module.predict(key, x, members)  # warm the eager caches too
        for _ in range(args.rounds):
            for name, module in variants.items():
                eager[name].append(timed(module.predict, key, x, members))
                jitted[name].append(timed(compiled[name], key, x, members))
        equal = np.allclose(variants["before"].predict(key, x, members), variants["after"].predict(key, x, members), atol=1e-6)
        cells = [str(members)]
        for table in (eager, {n: [v] for n, v in compile_s.items()}, jitted):
            b, a = statistics.median(table["before"]), statistics.median(table["after"])
            cells += [f"{b * 1e3:.2f} ms", f"{a * 1e3:.2f} ms", f"{b / a:.2f}x"]
        print("| " + " | ".join(cells + [str(equal)]) + " |")


if __name__ == "__main__":
    main()
