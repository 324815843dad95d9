# expect: none
# Already the Tricks page's form: the helper is handed a built model and replaces its weights from
# outside any constructor; and an argument that is a layer to derive weights from, not an
# initialiser.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


def init_linear_weight(model, init_fn, key):
    is_linear = lambda x: isinstance(x, eqx.nn.Linear)
    get_weights = lambda m: [x.weight for x in jax.tree_util.tree_leaves(m, is_leaf=is_linear) if is_linear(x)]
    weights = get_weights(model)
    new_weights = [init_fn(subkey, w.shape) for w, subkey in zip(weights, jr.split(key, len(weights)))]
    return eqx.tree_at(get_weights, model, new_weights)


class Inverse(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, forward: eqx.nn.Linear, *, key):
        self.linear = eqx.nn.Linear(2, 2, use_bias=False, key=key)
        self.linear = eqx.tree_at(lambda l: l.weight, self.linear, jnp.linalg.pinv(forward.weight))


def run():
    keys = jr.split(jr.PRNGKey(0), 4)
    model = init_linear_weight(eqx.nn.MLP(2, 2, 4, 1, key=keys[0]), jax.nn.initializers.zeros, keys[1])
    return model, Inverse(eqx.nn.Linear(2, 2, use_bias=False, key=keys[2]), key=keys[3])
