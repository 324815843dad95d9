# expect: EQX001
# fix: none
# A plain list of blocks holding BatchNorm, threading `eqx.nn.State` through each: the state is
# indexed per layer, which stacked, scanned layers cannot keep, so there is no fix.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear
    norm: eqx.nn.BatchNorm

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.norm = eqx.nn.BatchNorm(width, axis_name="batch")

    def __call__(self, x, state):
        x, state = self.norm(self.linear(x), state)
        return jax.nn.relu(x), state


class Net(eqx.Module):
    layers: list

    def __init__(self, width, depth, key):
        self.layers = [Block(width, k) for k in jr.split(key, depth)]

    def __call__(self, x, state):
        for layer in self.layers:
            x, state = layer(x, state)
        return x, state


def run():
    model, state = eqx.nn.make_with_state(Net)(3, 3, jr.PRNGKey(0))
    batch = jnp.arange(12.0).reshape(4, 3)
    out, state = jax.vmap(model, axis_name="batch", in_axes=(0, None), out_axes=(0, None))(batch, state)
    return out
