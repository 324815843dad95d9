# expect: EQX003, EQX003, EQX003
# fix: none
# Module-field ensembles as real code writes them, reported without a fix: discriminators built over
# keys from a helper and evaluated by a loop that appends each member's outputs; attention heads
# keyed by `fold_in` and evaluated by index; twin modulations unpacked from one generator and each
# called on the same input, with the same method applied to each result.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


def new_keys(key, num):
    return jr.split(key, num)


class GAN(eqx.Module):
    discriminators: list

    def __init__(self, n, key):
        keys = new_keys(key, n + 1)
        self.discriminators = [eqx.nn.MLP(3, 2, 8, 1, key=key) for key in keys[1:]]

    def __call__(self, x):
        probas = []
        for discriminator in self.discriminators:
            out = discriminator(x)
            probas.append(jax.nn.sigmoid(out[0]))
        return jnp.stack(probas)


class Heads(eqx.Module):
    heads: list

    def __init__(self, n, key):
        self.heads = [eqx.nn.Linear(3, 2, key=jr.fold_in(key, i)) for i in range(n)]

    def __call__(self, x):
        outs = jnp.zeros((len(self.heads), 2))
        for i in range(len(self.heads)):
            outs = outs.at[i].set(self.heads[i](x))
        return outs.reshape(-1)


class DoubleStream(eqx.Module):
    img_mod: eqx.nn.Linear
    txt_mod: eqx.nn.Linear

    def __init__(self, key):
        self.img_mod, self.txt_mod = (eqx.nn.Linear(3, 4, key=k) for k in jr.split(key, 2))

    def __call__(self, vec):
        return self.img_mod(vec).sum(), self.txt_mod(vec).sum()


def run():
    key, x = jr.PRNGKey(0), jnp.array([0.5, -1.0, 2.0])
    return GAN(3, key)(x), Heads(3, key)(x), DoubleStream(key)(x)
