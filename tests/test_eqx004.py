"""EQX004 edge cases found by fuzzing and review, beyond the golden cases in rules/EQX004."""

import textwrap

from eqx_rewrite.engine import Settings, analyse, parse

UNSAFE = Settings(unsafe_fixes=True)


def test_a_constructor_left_empty_keeps_a_pass():
    source = textwrap.dedent(
        """\
        import equinox as eqx


        class _Inner(eqx.Module):
            linear: eqx.nn.Linear

            def __init__(self, width, key, weight_init=None):
                if weight_init is not None:
                    self.linear = eqx.tree_at(lambda l: l.weight, self.linear, weight_init(key, (width, width)))
        """
    )
    fixed = analyse(source, UNSAFE, fix=True).fixed_source
    parse(fixed)
    assert "    def __init__(self, width, key):\n        pass\n" in fixed


def test_a_function_that_initialises_a_given_model_is_not_a_factory():
    # The helpers EQX004 writes have this shape; reporting them would make --fix never settle.
    source = textwrap.dedent(
        """\
        import equinox as eqx


        def init_net(net, key, *, head_init=None):
            if head_init is not None:
                net = eqx.tree_at(lambda m: m.head.weight, net, head_init(key, (1, 4)))
            return net
        """
    )
    assert analyse(source, UNSAFE).diagnostics == []
