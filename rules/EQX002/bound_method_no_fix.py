# expect: EQX002
# fix: none
import equinox as eqx
import jax.numpy as jnp


class Trainer(eqx.Module):
    lr: float = 0.1

    @eqx.filter_jit
    def step(self, params, x):
        return params - self.lr * x


def run():
    trainer = Trainer()
    params = jnp.ones(3)
    for _ in range(3):
        params = trainer.step(params, jnp.ones(3))
    return params
