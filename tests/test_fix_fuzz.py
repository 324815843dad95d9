"""The differential fix fuzzer, in CI: generated variants of the catalogue's positive shapes (see
fuzz_programs.py), executed before and after `--fix` and `--fix --unsafe-fixes` under JAX.
Every safe fix must give equal results and every unsafe fix must run; `bench/fuzz_fixes.py` runs
thousands more. Seeds are fixed, so a failure names the seed that reproduces it."""

import os

import pytest

from fuzz_programs import check, fix_counts, program

VARIANTS = int(os.environ.get("EQX_REWRITE_FUZZ_VARIANTS", "200"))
CHUNK = 25


@pytest.mark.parametrize("start", range(0, VARIANTS, CHUNK))
def test_fixes_keep_behaviour(start, tmp_path):
    problems = []
    for seed in range(start, min(start + CHUNK, VARIANTS)):
        outcome = check(program(seed), tmp_path)
        if outcome.problem:
            problems.append(f"seed {seed} {outcome.program.axes}: {outcome.problem}")
    assert not problems, "\n".join(problems)


def test_the_fuzzer_exercises_fixes_of_both_safeties():
    """A fuzzer whose variants are never fixed proves nothing: some must get safe fixes, some unsafe."""
    counts = [fix_counts(program(seed)) for seed in range(40)]
    assert sum(safe > 0 for safe, _ in counts) >= 10
    assert sum(unsafe > 0 for _, unsafe in counts) >= 3
