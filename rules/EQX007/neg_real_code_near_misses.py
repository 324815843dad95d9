# expect: none
# Near misses found reviewing the rule on real projects: names unpacked from one split are distinct
# keys; a branch that returns never reaches the draw after it; a forward-pass key handed to layers
# that never read it (an `eqx.nn.Linear` field, a Module of this file whose `__call__` ignores its
# key, a function of this file that ignores it, a local built from such a Module); `inference=True`
# turns dropout off; `eqx.nn.Embedding(weight=...)` is built from the weights given, not drawn; a
# factory's branch that returns a model built from `key` without reading the keys split from it; and
# a template built only to load saved weights into (`eqx.tree_deserialise_leaves`).
import os
import tempfile

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def unpacked(key):
    keys = jr.split(key, 3)
    a, b, c = keys
    return jr.normal(a, (2,)), jr.normal(b, (2,)), jr.normal(c, (2,))


def early_return(key, steady):
    if steady:
        return jr.normal(key, (2,))
    return jr.uniform(key, (2,))


class Attention(eqx.Module):
    proj: eqx.nn.Linear

    def __init__(self, key):
        self.proj = eqx.nn.Linear(2, 2, key=key)

    def __call__(self, x, *, key=None):
        return self.proj(x)


def project(layer, x, *, key=None):
    return layer(x)


class Block(eqx.Module):
    linear: eqx.nn.Linear
    attn: Attention
    drop: eqx.nn.Dropout

    def __init__(self, key):
        k1, k2 = jr.split(key)
        self.linear = eqx.nn.Linear(2, 2, key=k1)
        self.attn = Attention(k2)
        self.drop = eqx.nn.Dropout(0.5)

    def __call__(self, x, *, key):
        x = self.linear(x, key=key)
        x = self.attn(x, key=key)
        x = project(self.linear, x, key=key)
        x = self.drop(x, key=key, inference=True)
        return self.drop(x, key=key)


def make_model(name, key):
    cell_key, output_key = jr.split(key)
    if name == "linear":
        return eqx.nn.Linear(2, 2, key=key)
    return eqx.nn.GRUCell(2, 2, key=cell_key), eqx.nn.Linear(2, 2, key=output_key)


def restore(path, key):
    model = eqx.nn.Linear(2, 2, key=key)
    model = eqx.tree_deserialise_leaves(path, model)
    return model, jr.normal(key, (2,))


def local_layer(key, x):
    k1, k2 = jr.split(key)
    attn = Attention(k1)
    return attn(x, key=k2) + attn(x, key=k2)


def embedding(key):
    table = eqx.nn.Embedding(weight=jnp.ones((4, 2)), key=key)
    return table, jr.normal(key, (2,))


def run():
    k1, k2, k3, k4, k5, k6, k7, k8, k9 = jr.split(jr.PRNGKey(0), 9)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "linear.eqx")
        eqx.tree_serialise_leaves(path, eqx.nn.Linear(2, 2, key=jr.PRNGKey(1)))
        restored = restore(path, k9)
    return unpacked(k1), early_return(k2, True), early_return(k3, False), Block(k4)(jnp.ones(2), key=k5), embedding(k6), local_layer(k7, jnp.ones(2)), make_model("linear", k8), restored
