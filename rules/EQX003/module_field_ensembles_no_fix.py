# expect: EQX003, EQX003
# fix: none
# Ensembles held by a Module: a field built over split keys and evaluated side by side, and twin
# critics written out as fields. Reported without a fix: stacking them changes the Module's layout.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Ensemble(eqx.Module):
    nets: list

    def __init__(self, n, key):
        self.nets = [eqx.nn.MLP(2, 1, 8, 2, key=k) for k in jr.split(key, n)]

    def __call__(self, x):
        return jnp.stack([net(x) for net in self.nets]).mean(0)


class Critic(eqx.Module):
    q1: eqx.nn.MLP
    q2: eqx.nn.MLP

    def __init__(self, key):
        k1, k2 = jr.split(key)
        self.q1 = eqx.nn.MLP(3, 1, 8, 2, key=k1)
        self.q2 = eqx.nn.MLP(3, 1, 8, 2, key=k2)

    def __call__(self, x):
        return self.q1(x), self.q2(x)


def run():
    keys = jr.split(jr.PRNGKey(0))
    return Ensemble(3, keys[0])(jnp.ones(2)), Critic(keys[1])(jnp.ones(3))
