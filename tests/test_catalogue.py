"""Every golden case: findings, exact fix text, idempotency, and run() before vs after under JAX."""

from collections import Counter

import pytest

from catalogue import assert_same, cases, leaves, load
from eqx_rewrite.engine import Settings, analyse

CASES = cases()
UNSAFE = Settings(unsafe_fixes=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_reports_exactly_the_expected_codes(case):
    found = analyse(case.path.read_text(), Settings()).diagnostics
    assert sorted(d.code for d in found) == sorted(case.expect)
    if case.expect:
        assert {d.fix_safety or "none" for d in found} == case.fixes


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fix_text_is_exact_and_idempotent(case):
    source = case.path.read_text()
    fixed = analyse(source, UNSAFE, fix=True)
    if not case.expected_path.exists():
        assert fixed.fixed_source == source, "a case without an expected output must not change"
        return
    assert fixed.fixed_source == case.expected_path.read_text()
    again = analyse(fixed.fixed_source, UNSAFE, fix=True)
    assert again.fixed_source == fixed.fixed_source, "--fix twice differs from --fix once"
    unfixable = Counter(d.code for d in analyse(source, UNSAFE).diagnostics if d.fix_safety is None)
    remaining = Counter(d.code for d in fixed.diagnostics if d.code in case.expect)
    # A fix may also remove another rule's unfixable finding (a stacked build has no reused key left).
    assert remaining <= unfixable, "--check still reports a fixed finding after --fix"


def test_safe_fixes_apply_without_unsafe_flag():
    for case in CASES:
        if "safe" in case.fixes and "unsafe" not in case.fixes:
            fixed = analyse(case.path.read_text(), Settings(), fix=True).fixed_source
            assert fixed == case.expected_path.read_text(), case.id


def test_unsafe_fixes_need_the_flag():
    for case in CASES:
        if case.fixes == {"unsafe"}:
            source = case.path.read_text()
            assert analyse(source, Settings(), fix=True).fixed_source == source, case.id


@pytest.mark.parametrize("case", [c for c in CASES if c.expected_path.exists()], ids=lambda c: c.id)
def test_rewrite_keeps_or_corrects_behaviour(case, tmp_path):
    before = load(case.path)
    after = load(case.path, case.expected_path.read_text(), tmp_path)
    if case.behaviour == "repaired":
        # Code written against an API since removed: the rewrite gives what the old API gave.
        assert_same(after.run(), before.reference())
        return
    original = before.run()
    assert leaves(original)
    if case.behaviour == "kept":
        assert_same(original, after.run())
    else:
        assert case.behaviour == "changed"
        assert_same(after.run(), before.reference())
        with pytest.raises(AssertionError):
            assert_same(original, before.reference())


# A rewritten case's run() is already run, and checked, by the test above.
@pytest.mark.parametrize("case", [c for c in CASES if not c.expected_path.exists() or c.behaviour == "repaired"], ids=lambda c: c.id)
def test_case_runs(case):
    module = load(case.path)
    if case.behaviour != "repaired":
        assert leaves(module.run())
        return
    assert leaves(module.reference())
    try:
        before = module.run()
    except (AttributeError, ImportError):
        return  # the API is gone from the installed version
    assert_same(before, module.reference())  # where it is still there, it means what its replacement does
