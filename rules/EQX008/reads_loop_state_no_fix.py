# expect: EQX008, EQX008, EQX008
# fix: none
# Compiled functions that must be traced on every pass: a lambda closing over the loop's variable
# (tracing it once would freeze the first value), one reading an object's attribute the loop changes,
# and a function decorated with jit defined in the loop.
import jax
import jax.numpy as jnp


class Schedule:
    def __init__(self):
        self.lr = 1.0

    def decay(self):
        self.lr = self.lr * 0.5


def run():
    schedule, x, outs = Schedule(), jnp.ones(3), []
    for i in range(3):
        outs.append(jax.jit(lambda y: y * i)(x))
        outs.append(jax.jit(lambda y: y * schedule.lr)(x))
        schedule.decay()

        @jax.jit
        def shifted(y):
            return y + i

        outs.append(shifted(x))
    return jnp.stack(outs)
