# expect: EQX004, EQX004, EQX004, EQX004, EQX004
# fix: none
# Arguments that only initialise, written as real code writes them: a scale applied unconditionally
# with a default, a bool flag that zeroes a sublayer, a string switch, an outer class only
# handing its scale down, and one handing arithmetic on it to each layer of an append loop (a
# Fourier-feature network's `weight_scale=input_scale / jnp.sqrt(depth + 1)`); its near miss hands
# the scale through a call the rule does not follow, and stays quiet. Found by following each argument's uses; reported without a fix, since
# constructions relying on the defaults would change if the initialisation moved out.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Scaled(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, width: int, weight_scale: float = 30.0, *, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.linear = eqx.tree_at(lambda l: l.weight, self.linear, self.linear.weight * weight_scale)


class Residual(eqx.Module):
    proj: eqx.nn.Linear

    def __init__(self, width, zero_init_residual: bool = False, *, key):
        self.proj = eqx.nn.Linear(width, width, key=key)
        if zero_init_residual:
            self.proj = eqx.tree_at(lambda l: l.weight, self.proj, jnp.zeros((width, width)))


class Mode(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, key, weight_init="default"):
        self.linear = eqx.nn.Linear(2, 2, key=key)
        if weight_init == "zeros":
            self.linear = eqx.tree_at(lambda l: l.weight, self.linear, jnp.zeros((2, 2)))


class Net(eqx.Module):
    first: Scaled

    def __init__(self, width, input_scale=1.0, *, key):
        self.first = Scaled(width, input_scale, key=key)


class Filters(eqx.Module):
    filters: tuple

    def __init__(self, width, depth=2, input_scale=256.0, *, key):
        keys = jr.split(key, depth + 1)
        filters = []
        for i in range(depth + 1):
            filters.append(Scaled(width, weight_scale=input_scale / jnp.sqrt(depth + 1), key=keys[i]))
        self.filters = tuple(filters)


class LogFilters(eqx.Module):
    filters: tuple

    def __init__(self, width, input_scale=256.0, *, key):
        self.filters = (Scaled(width, weight_scale=jnp.log(input_scale), key=key),)


def run():
    keys = jr.split(jr.PRNGKey(0), 6)
    built = Net(3, key=keys[0]), Residual(3, True, key=keys[1]), Mode(keys[2], weight_init="zeros"), Scaled(3, key=keys[3])
    return built + (Filters(3, key=keys[4]), LogFilters(3, key=keys[5]))
