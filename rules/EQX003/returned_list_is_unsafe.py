# expect: EQX003
# fix: unsafe
# behaviour: kept
# The ensemble is returned too: callers that index it would see one batched module instead.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def build_and_eval(x):
    models = [eqx.nn.Linear(2, 2, key=k) for k in jr.split(jr.PRNGKey(0), 3)]
    return models, jnp.stack([m(x) for m in models])


def run():
    _, preds = build_and_eval(jnp.ones(2))
    return preds
