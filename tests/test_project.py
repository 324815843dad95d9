"""What one file cannot know alone, learnt from the other files of the same run."""

import json

STEPS = """import equinox as eqx
import jax.numpy as jnp


@eqx.filter_jit
def make_step(model, x):
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2))(model)
    return eqx.apply_updates(model, grads)
"""

TRAIN = """import equinox as eqx
import jax.numpy as jnp
import jax.random as jr

from steps import make_step


def train():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    for _ in range(3):
        model = make_step(model, jnp.ones(2))
    return model
"""


def test_step_compiled_in_another_module_is_reported_without_a_fix(tmp_path, run_cli):
    (tmp_path / "steps.py").write_text(STEPS)
    (tmp_path / "train.py").write_text(TRAIN)
    findings = json.loads(run_cli("--output-format", "json", ".").stdout)
    assert [(f["code"], f["filename"], f["fix"]) for f in findings] == [("EQX002", "train.py", None)]
    assert "defined in another module (`steps.make_step`)" in findings[0]["message"]
    # Alone, train.py cannot know make_step is compiled: quiet, as for any unknown function.
    assert json.loads(run_cli("--output-format", "json", "train.py").stdout) == []
    run_cli("--fix", ".")
    assert (tmp_path / "train.py").read_text() == TRAIN
