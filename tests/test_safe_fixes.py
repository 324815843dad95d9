"""What a fix writes around the code it moves: imports where isort would put them, newlines of the
file's own style, and no fix where the target may be a method rather than a field."""

import textwrap

from eqx_rewrite.engine import Settings, analyse
from eqx_rewrite.report import summary

def _fixed(source: str, **settings) -> str:
    return analyse(source, Settings(**settings), fix=True).fixed_source


def test_an_added_import_goes_in_sorted_order_and_leaves_trailing_comments_alone():
    source = textwrap.dedent(
        """\
        import equinox as eqx
        import jax.numpy as jnp  # arrays
        import optax  # optimisers

        optim = optax.sgd(0.1)


        @eqx.filter_jit
        def make_step(model, opt_state, x):
            grads = eqx.filter_grad(lambda m: jnp.sum(m(x)))(model)
            updates, opt_state = optim.update(grads, opt_state)
            return eqx.apply_updates(model, updates), opt_state


        def train(x):
            model = eqx.nn.Linear(2, 2, key=None)
            opt_state = optim.init(model)
            for _ in range(3):
                model, opt_state = make_step(model, opt_state, x)
            return model
        """
    )
    fixed = _fixed(source)
    assert fixed.startswith("import equinox as eqx\nimport jax\nimport jax.numpy as jnp  # arrays\nimport optax  # optimisers\n")


def test_a_standard_library_import_opens_its_own_section_before_third_party_ones():
    source = textwrap.dedent(
        """\
        import equinox as eqx
        import jax
        import jax.numpy as jnp


        @jax.jit
        def step(model, x):
            return jax.tree_util.tree_map(lambda p: p - 0.1 * jnp.sum(x), model)


        def train(x):
            model = eqx.nn.Linear(2, 2, key=None)
            for _ in range(3):
                model = step(model, x)
            return model
        """
    )
    assert _fixed(source).startswith("import functools\n\nimport equinox as eqx\nimport jax\n")


def test_crlf_files_keep_crlf_and_never_get_doubled_carriage_returns():
    original = open("rules/EQX001/append_loop.py").read()
    commented = original.replace("            x = jax.nn.relu(layer(x))", "            # one layer\n            x = jax.nn.relu(layer(x))")
    source = commented.replace("\n", "\r\n")
    fixed = _fixed(source, unsafe_fixes=True)
    assert commented != original and "# one layer\r\n" in fixed
    assert "\r\r" not in fixed and "\n" not in fixed.replace("\r\n", "")


def test_a_method_of_a_class_defined_elsewhere_is_not_patched_with_tree_at():
    source = textwrap.dedent(
        """\
        import equinox as eqx
        from encoders import Encoder


        def patch(key, new_call):
            encoder = Encoder(key=key)
            object.__setattr__(encoder, "__call__", new_call)
            object.__setattr__(encoder, "encode", lambda x: x)
            return encoder
        """
    )
    found = analyse(source, Settings(unsafe_fixes=True, project_module_classes=frozenset({"Encoder"}))).diagnostics
    assert [d.code for d in found] == ["EQX005", "EQX005"]
    assert all(d.fix_safety is None and "may be a method" in d.message for d in found)


def test_a_run_with_files_that_could_not_be_processed_does_not_say_all_checks_passed():
    assert summary([], failed=2) == "2 files could not be processed.\n"
    assert summary([]) == "All checks passed!\n"


def test_a_loop_added_later_reuses_the_flat_variant_already_generated():
    fixed_once = open("rules/EQX002/filter_jit_tuple_state.expected.py").read()
    another_loop = fixed_once + textwrap.dedent(
        """

        def more(model, opt_state, x, y):
            model = eqx.nn.MLP(2, 1, 8, 1, key=jr.PRNGKey(1))
            opt_state = optim.init(eqx.filter(model, eqx.is_array))
            for _ in range(3):
                model, opt_state, loss = make_step(model, opt_state, x, y)
            return model
        """
    )
    fixed = _fixed(another_loop)
    assert fixed != another_loop
    assert fixed.count("def make_step_flat(") == 1 and "def make_step_flat2(" not in fixed
