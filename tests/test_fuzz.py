"""Mangled versions of every catalogue case: the tool may report them, but never crashes, and any
fix it makes parses and is idempotent. Deterministic (fixed seed), so a failure reproduces."""

import random

import pytest

from catalogue import cases
from eqx_rewrite.engine import ParseError, Settings, analyse, parse

SETTINGS = Settings(unsafe_fixes=True)
MUTANTS_PER_CASE = 12


def mutants(source: str, rng: random.Random):
    lines = source.split("\n")
    for _ in range(MUTANTS_PER_CASE):
        mutated = list(lines)
        i = rng.randrange(len(mutated))
        kind = rng.choice(["drop", "duplicate", "dedent", "indent", "truncate", "swap"])
        if kind == "drop":
            del mutated[i]
        elif kind == "duplicate":
            mutated.insert(i, mutated[i])
        elif kind == "dedent":
            mutated[i] = mutated[i].lstrip()
        elif kind == "indent":
            mutated[i] = "    " + mutated[i]
        elif kind == "truncate":
            mutated[i] = mutated[i][: rng.randrange(len(mutated[i]) + 1)]
        else:
            j = rng.randrange(len(mutated))
            mutated[i], mutated[j] = mutated[j], mutated[i]
        yield "\n".join(mutated)


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.id)
def test_mangled_sources_never_crash_the_tool(case):
    rng = random.Random(case.id)
    for source in mutants(case.path.read_text(), rng):
        try:
            result = analyse(source, SETTINGS, fix=True)
        except ParseError:
            continue  # reported to the user as path:line:col: error
        if result.fixed_source != source:
            parse(result.fixed_source)
            assert analyse(result.fixed_source, SETTINGS, fix=True).fixed_source == result.fixed_source
