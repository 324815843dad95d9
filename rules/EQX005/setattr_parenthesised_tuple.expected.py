# expect: EQX005, EQX005
# fix: safe
# behaviour: kept
# The new value is a parenthesised tuple: the fix must hand it to `eqx.tree_at` as one argument
# (without its parentheses it became two, the second taken for `replace_fn`), and `()` must stay.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    mlp = eqx.nn.MLP(3, 2, 8, 2, key=jr.PRNGKey(0))
    head = eqx.nn.Linear(8, 2, key=jr.PRNGKey(1))
    mlp = eqx.tree_at(lambda mlp: mlp.layers, mlp, (mlp.layers[0], mlp.layers[1], head))
    seq = eqx.nn.Sequential([eqx.nn.Lambda(jnp.tanh)])
    seq = eqx.tree_at(lambda seq: seq.layers, seq, ())
    return mlp(jnp.ones(3)), seq(jnp.ones(3))
