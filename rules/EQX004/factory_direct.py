# expect: EQX004
# fix: safe
# behaviour: kept
# A private factory that builds an MLP and applies its custom initialisers itself: the guard blocks
# move, as written, into a helper that takes the built model under the factory's own name for it.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def _make_mlp(key, *, last_weight_init=None, last_bias_init=None):
    k_mlp, k_weight = jr.split(key)
    net = eqx.nn.MLP(3, 2, 8, 2, key=k_mlp)
    if last_weight_init is not None:
        net = eqx.tree_at(lambda m: m.layers[-1].weight, net, last_weight_init(k_weight, (2, 8)))
    if last_bias_init is not None:
        net = eqx.tree_at(lambda m: m.layers[-1].bias, net, last_bias_init((2,)))
    return net


def run():
    x = jnp.arange(3.0)
    plain = _make_mlp(jr.PRNGKey(0))
    custom = _make_mlp(jr.PRNGKey(0), last_weight_init=lambda k, s: 0.01 * jr.normal(k, s), last_bias_init=jnp.ones)
    return plain(x), custom(x), custom
