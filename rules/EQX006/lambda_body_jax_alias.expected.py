# expect: EQX006
# fix: unsafe
# behaviour: changed
# A lambda body, with lax reached through `import jax as jx`.
import jax as jx
import jax.numpy as jnp


def run():
    h = jnp.array([1.0, 2.0])
    decay = jnp.array([0.5, 0.25, 0.125])
    out, trace = jx.lax.scan(lambda c, d: (c * d + 1.0, c * d), h, decay)
    return out, trace


def reference():
    h = jnp.array([1.0, 2.0])
    c, trace = h, []
    for d in [0.5, 0.25, 0.125]:
        trace.append(c * d)
        c = c * d + 1.0
    return c, jnp.stack(trace)
