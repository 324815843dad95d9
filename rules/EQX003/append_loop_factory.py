# expect: EQX003
# fix: safe
# behaviour: kept
# Members made by a factory function, outputs collected by an appending loop.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def make_member(key):
    return eqx.nn.MLP(2, 1, 4, 1, key=key)


def run():
    members = [make_member(k) for k in jr.split(jr.PRNGKey(2), 4)]
    x = jnp.array([1.0, -1.0])
    outputs = []
    for member in members:
        outputs.append(member(x))
    return jnp.stack(outputs)
