"""Cost of `eqx-rewrite --check` on one large generated file, and how it grows with the file's size.

The file is Equinox-flavoured code written out block after block, each block its own names: Modules
with layer lists over split keys, numbered fields and ensembles, constructors taking initialisers
applied with `tree_at`, training loops around jitted steps, scans, keys drawn twice, jit inside
loops, in-place surgery, deprecated spellings, and plain helpers between them. Every rule's text
needles and `ast` conditions pass, so every rule body runs over the whole file: what one user's
50,000-line generated module would cost.

    python bench/large_file.py                    # the 50k-line file: seconds and peak RSS
    python bench/large_file.py --sweep            # 5k..50k lines: seconds per 1k lines
    python bench/large_file.py --profile          # cProfile top 25 (cumulative) of an in-process run

Each measurement runs `eqx-rewrite --check --no-cache -q` in its own subprocess; its peak RSS is the
child's `ru_maxrss` from the kernel's rusage for that child (what `getrusage(RUSAGE_CHILDREN)`
reports after one child).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = '''\
"""Generated: {lines} lines of Equinox models, training steps and helpers."""
import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jax import lax

optim = optax.adam(1e-3)

'''

# One block per template, `{i}` making every name its own; together they reach every rule.
TEMPLATES = [
    # EQX001: identical layers built over split keys, applied in a loop.
    '''
class Stack{i}(eqx.Module):
    layers: list
    head: eqx.nn.Linear

    def __init__(self, width, depth, *, key):
        lkey, hkey = jr.split(key)
        self.layers = [eqx.nn.Linear(width, width, key=k) for k in jr.split(lkey, depth)]
        self.head = eqx.nn.Linear(width, 1, key=hkey)

    def __call__(self, x):
        for layer in self.layers:
            x = jax.nn.relu(layer(x))
        return self.head(x)
''',
    # EQX001 (numbered fields) and EQX003 (an ensemble evaluated member by member).
    '''
class Twins{i}(eqx.Module):
    l1: eqx.nn.Linear
    l2: eqx.nn.Linear
    l3: eqx.nn.Linear

    def __init__(self, width, *, key):
        k1, k2, k3 = jr.split(key, 3)
        self.l1 = eqx.nn.Linear(width, width, key=k1)
        self.l2 = eqx.nn.Linear(width, width, key=k2)
        self.l3 = eqx.nn.Linear(width, width, key=k3)

    def __call__(self, x):
        return self.l3(self.l2(self.l1(x)))


def ensemble{i}(x):
    models = [eqx.nn.MLP(4, 2, 8, 2, key=k) for k in jr.split(jr.PRNGKey({i}), 5)]
    return jnp.stack([m(x) for m in models])
''',
    # EQX004: an initialiser threaded through the constructor into tree_at.
    '''
class Encoder{i}(eqx.Module):
    embed: eqx.nn.Linear

    def __init__(self, size, *, key, embed_bias_init=None):
        self.embed = eqx.nn.Linear(3, size, key=key)
        if embed_bias_init is not None:
            self.embed = eqx.tree_at(lambda l: l.bias, self.embed, embed_bias_init(size))

    def __call__(self, x):
        return jnp.tanh(self.embed(x))
''',
    # EQX002: a Python loop carrying the model and optimiser state through a jitted step.
    '''
@eqx.filter_jit
def make_step{i}(model, opt_state, x, y):
    loss, grads = eqx.filter_value_and_grad(lambda m: jnp.mean((jax.vmap(m)(x) - y) ** 2))(model)
    updates, opt_state = optim.update(grads, opt_state, model)
    return eqx.apply_updates(model, updates), opt_state, loss


def train{i}(steps=10):
    model = eqx.nn.MLP(2, 1, 8, 1, key=jr.PRNGKey({i}))
    opt_state = optim.init(eqx.filter(model, eqx.is_array))
    x = jr.normal(jr.PRNGKey({i} + 1), (16, 2))
    y = jnp.sum(x, axis=1, keepdims=True)
    losses = []
    for _ in range(steps):
        model, opt_state, loss = make_step{i}(model, opt_state, x, y)
        losses.append(loss)
    return model, opt_state, jnp.stack(losses)
''',
    # EQX005 (surgery) and EQX006 (a scan body that ignores its carry).
    '''
def surgery{i}():
    mlp = eqx.nn.MLP(3, 2, 8, 2, key=jr.PRNGKey({i}))
    new_final = eqx.nn.Linear(8, 2, key=jr.PRNGKey({i} + 2))
    layers = list(mlp.layers)
    layers[-1] = new_final
    object.__setattr__(mlp, "layers", tuple(layers))
    return mlp(jnp.ones(3))


def scanned{i}(x, ws):
    def step(carry, w):
        return x * w, None

    out, _ = lax.scan(step, x, ws)
    return out
''',
    # EQX007 (a key drawn twice) and EQX008 (jit created on every pass).
    '''
def noisy{i}(key, x):
    a = jr.normal(key, x.shape)
    b = jr.uniform(key, x.shape)
    return x + a * b


def loop_jit{i}(params, xs):
    scale = 0.5
    losses = []
    for x in xs:
        loss = jax.jit(lambda p, x: jnp.sum((p * x) ** 2) * scale)(params, x)
        losses.append(loss)
    return jnp.stack(losses)
''',
    # EQX101 and EQX102: removed and deprecated spellings.
    '''
class Config{i}(eqx.Module):
    size: int = eqx.static_field()
    rate: float = 0.1

    def halve(self, params):
        return jax.tree_map(lambda p: p * self.rate, params)


def leaves{i}(params):
    return jax.tree_leaves(params), eqx.nn.Dropout(0.5, deterministic=True)
''',
    # Plain code the rules read and pass over: near misses and helpers.
    '''
def helper{i}(x, y, *, scale=1.0):
    total = 0.0
    for a, b in zip(x, y):
        if a > b:
            total += (a - b) * scale
        else:
            total -= (b - a) / scale
    return total


def split_use{i}(key):
    k1, k2 = jr.split(key)
    return jr.normal(k1, (3,)) + jr.uniform(k2, (3,))


def replace_cfg{i}(cfg):
    return dataclasses.replace(cfg, rate=cfg.rate * 2)
''',
]


def generate(lines: int) -> str:
    """At least `lines` lines, the same text for the same count."""
    parts = [HEADER.format(lines=lines)]
    count = parts[0].count("\n")
    i = 0
    while count < lines:
        block = TEMPLATES[i % len(TEMPLATES)].format(i=i)
        parts.append(block)
        count += block.count("\n")
        i += 1
    return "".join(parts)


def measure(path: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `--check` run in a subprocess."""
    command = [sys.executable, "-m", "eqx_rewrite", "--check", "--no-cache", "-q", str(path)]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=path.parent)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise SystemExit(f"eqx-rewrite failed ({child.returncode}): {child.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports kilobytes


def write(folder: Path, lines: int) -> Path:
    path = folder / f"generated_{lines}.py"
    path.write_text(generate(lines))
    return path


def profile(path: Path) -> None:
    from eqx_rewrite.engine import Settings, analyse

    source = path.read_text()
    profiler = cProfile.Profile()
    profiler.enable()
    analyse(source, Settings())
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--sweep", action="store_true", help="also 5k, 10k and 25k lines: seconds per 1k lines")
    parser.add_argument("--profile", action="store_true", help="cProfile top 25 of an in-process run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sizes = sorted({5_000, 10_000, 25_000, args.lines}) if args.sweep else [args.lines]
        print(f"{'lines':>7} {'seconds':>8} {'s/1k lines':>10} {'peak RSS MB':>11}")
        for lines in sizes:
            seconds, rss = measure(write(folder, lines))
            print(f"{lines:>7} {seconds:>8.2f} {seconds / lines * 1000:>10.3f} {rss:>11.0f}")
        if args.profile:
            profile(write(folder, args.lines))


if __name__ == "__main__":
    main()
