# expect: EQX006
# fix: unsafe
# behaviour: changed
# The Tricks page's own bug: the body applies each layer to the closed-over input `x`.
import equinox as eqx
import jax.lax as lax
import jax.random as jr


class Stack(eqx.Module):
    mlps: eqx.nn.MLP

    def __init__(self, size, key):
        make = lambda k: eqx.nn.MLP(size, size, size, 1, key=k)
        self.mlps = eqx.filter_vmap(make)(jr.split(key, 4))

    def __call__(self, x):
        dynamic, static = eqx.partition(self.mlps, eqx.is_array)

        def f(_x, _dynamic):
            mlp = eqx.combine(_dynamic, static)
            return mlp(_x), None  # every step sees x

        out, _ = lax.scan(f, x, dynamic)
        return out


def run():
    return Stack(3, jr.PRNGKey(0))(jr.normal(jr.PRNGKey(1), (3,)))


def reference():
    """What the code means: the layers applied one after another."""
    stack = Stack(3, jr.PRNGKey(0))
    x = jr.normal(jr.PRNGKey(1), (3,))
    dynamic, static = eqx.partition(stack.mlps, eqx.is_array)
    for i in range(4):
        layer = eqx.combine(jax_tree_index(dynamic, i), static)
        x = layer(x)
    return x


def jax_tree_index(tree, i):
    import jax

    return jax.tree_util.tree_map(lambda a: a[i], tree)
