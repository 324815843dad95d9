"""What EQX002 buys: per-step time of a training loop before and after eqx-rewrite's fix.

A tiny MLP (dispatch-bound) and a 50-layer model (100 array leaves) are trained with Adam through
the user-style loop below and through the loop eqx-rewrite produces from it, in alternating rounds
in one process. Prints median per-step times, the after/before ratio (< 1: faster), and checks that
the final parameters are identical bit for bit.

    python bench/step_loop.py [--steps 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from _rewrite import load, rewrite  # noqa: E402

LOOP = '''
import equinox as eqx
import jax
import jax.numpy as jnp
import optax

optim = optax.adam(1e-3)


@eqx.filter_jit
def make_step(model, opt_state, x, y):
    def loss_fn(model):
        return jnp.mean((jax.vmap(model)(x) - y) ** 2)

    loss, grads = eqx.filter_value_and_grad(loss_fn)(model)
    updates, opt_state = optim.update(grads, opt_state, eqx.filter(model, eqx.is_array))
    model = eqx.apply_updates(model, updates)
    return loss, model, opt_state


def train(model, x, y, steps):
    opt_state = optim.init(eqx.filter(model, eqx.is_array))
    for _ in range(steps):
        loss, model, opt_state = make_step(model, opt_state, x, y)
    return model, loss
'''


def models():
    import equinox as eqx
    import jax
    import jax.random as jr

    class Deep(eqx.Module):
        layers: list

        def __init__(self, key):
            self.layers = [eqx.nn.Linear(8, 8, key=k) for k in jr.split(key, 50)]

        def __call__(self, x):
            for layer in self.layers:
                x = jax.nn.tanh(layer(x))
            return x[:1]

    return {
        "tiny MLP (6 array leaves)": (eqx.nn.MLP(8, 1, 32, 2, key=jr.PRNGKey(0)), 8),
        "50 layers (100 array leaves)": (Deep(jr.PRNGKey(0)), 8),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import jax
    import jax.random as jr
    import numpy as np

    variants = {"before": load(LOOP, "loop_before"), "after": load(rewrite(LOOP, "EQX002"), "loop_after")}
    print("| model | per step before | per step after | after/before | final params identical |")
    print("|---|---|---|---|---|")
    for label, (model, width) in models().items():
        x = jr.normal(jr.PRNGKey(1), (32, width))
        y = jr.normal(jr.PRNGKey(2), (32, 1))
        times = {name: [] for name in variants}
        finals = {}
        for name, module in variants.items():
            jax.block_until_ready(module.train(model, x, y, 3))  # compile
        for _ in range(args.rounds):
            for name, module in variants.items():
                start = time.perf_counter()
                finals[name] = jax.block_until_ready(module.train(model, x, y, args.steps))
                times[name].append((time.perf_counter() - start) / args.steps)
        before, after = (statistics.median(times[n]) for n in ("before", "after"))
        identical = all(
            np.array_equal(a, b)
            for a, b in zip(jax.tree_util.tree_leaves(finals["before"]), jax.tree_util.tree_leaves(finals["after"]))
            if hasattr(a, "shape")
        )
        print(f"| {label} | {before * 1e6:.0f} µs | {after * 1e6:.0f} µs | {after / before:.2f}x | {identical} |")


if __name__ == "__main__":
    main()
