# expect: EQX102, EQX102, EQX102, EQX102
# fix: safe
# behaviour: kept
# Spellings Equinox keeps only for backward compatibility: `static_field` with and without
# arguments, `tree_inference`, and `Dropout(deterministic=...)`.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Model(eqx.Module):
    size: int = eqx.static_field()
    name: str = eqx.static_field(default="model")
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, key):
        self.size = 3
        self.linear = eqx.nn.Linear(3, 3, key=key)
        self.dropout = eqx.nn.Dropout(0.5, deterministic=False)

    def __call__(self, x, key=None):
        return self.dropout(self.linear(x), key=key)


def run():
    model = eqx.tree_inference(Model(jr.PRNGKey(0)), value=True)
    return model(jnp.ones(3)), model.size, model.name, model.dropout.inference
