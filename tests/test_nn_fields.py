"""The built-in table of equinox.nn fields matches the installed equinox."""

import dataclasses
import inspect

import equinox as eqx

from eqx_rewrite.rules._nn_fields import NN_FIELDS


def test_table_matches_installed_equinox():
    for name, (dynamic, static) in NN_FIELDS.items():
        cls = getattr(eqx.nn, name, None)
        if cls is None:
            continue  # removed in a newer equinox: unknown classes only make fixes unsafe
        fields = dataclasses.fields(cls)
        assert {f.name for f in fields if not f.metadata.get("static", False)} == set(dynamic), name
        assert {f.name for f in fields if f.metadata.get("static", False)} == set(static), name


def test_table_covers_the_common_layers():
    layers = {n for n in dir(eqx.nn) if inspect.isclass(getattr(eqx.nn, n))}
    assert {"Linear", "MLP", "Conv2d", "LayerNorm", "MultiheadAttention", "Sequential"} <= layers & set(NN_FIELDS)
