"""How --verify decides two results match: structure, shapes, dtypes, tolerances by dtype."""

import numpy as np

from eqx_rewrite.verify.compare import compare


def leaves(*values, inside=False):
    return [(f"[{i}]", inside, v) for i, v in enumerate(values)]


def test_equal_results_match_with_zero_difference():
    c = compare(leaves(np.ones(3, np.float32)), leaves(np.ones(3, np.float32)), None, None, False)
    assert c.ok and c.max_abs == 0.0


def test_float32_defaults_allow_rounding_but_not_real_differences():
    a = np.array([1.0, 2.0], np.float32)
    assert compare(leaves(a), leaves(a + np.float32(1e-7)), None, None, False).ok
    c = compare(leaves(a), leaves(a + np.float32(1e-3)), None, None, False)
    assert not c.ok and c.message.startswith("[0]: max |Δ| 0.001") and "rtol=1e-05" in c.message


def test_user_tolerances_override_the_defaults():
    a = np.array([1.0], np.float32)
    assert compare(leaves(a), leaves(a + np.float32(1e-3)), 1e-2, 0.0, False).ok


def test_integers_and_bools_must_be_exact():
    c = compare(leaves(np.array([1, 2])), leaves(np.array([1, 3])), 1.0, 1.0, False)
    assert not c.ok and "1 of 2 values differ" in c.message
    assert not compare(leaves(np.array([True])), leaves(np.array([False])), None, None, False).ok


def test_shape_dtype_and_nan_placement_matter():
    assert "float32[3] became float32[4]" in compare(leaves(np.ones(3, np.float32)), leaves(np.ones(4, np.float32)), None, None, False).message
    assert "float32[1] became float64[1]" in compare(leaves(np.ones(1, np.float32)), leaves(np.ones(1)), None, None, False).message
    nan = np.array([np.nan, 1.0])
    assert compare(leaves(nan), leaves(nan.copy()), None, None, False).ok
    assert not compare(leaves(nan), leaves(np.array([0.0, 1.0])), None, None, False).ok
    inf = np.array([np.inf])
    assert compare(leaves(inf), leaves(inf.copy()), None, None, False).ok


def test_structure_changes_name_the_leaf():
    c = compare([(".a", False, np.ones(1))], [(".b", False, np.ones(1))], None, None, False)
    assert not c.ok and c.message == "the returned pytree's structure differs: leaf .a became .b"
    c = compare(leaves(np.ones(1), np.ones(1)), leaves(np.ones(1)), None, None, False)
    assert c.message == "the returned pytree's structure differs: lost leaf [1]"


def test_layout_changes_compare_outputs_outside_modules():
    before = [("[0].layers[0].weight", True, np.ones(2)), ("[0].layers[1].weight", True, np.ones(2)), ("[1]", False, np.ones(3))]
    after = [("[0].layers.weight", True, np.ones((2, 2))), ("[1]", False, np.ones(3))]
    assert not compare(before, after, None, None, False).ok
    assert compare(before, after, None, None, True).ok
    only_modules = compare(before[:2], after[:1], None, None, True)
    assert not only_modules.ok and "return their outputs instead" in only_modules.message


def test_static_leaves_compare_by_value_or_kind():
    assert compare(leaves(("static", "str", "relu")), leaves(("static", "str", "relu")), None, None, False).ok
    c = compare(leaves(("static", "str", "relu")), leaves(("static", "str", "gelu")), None, None, False)
    assert c.message == "[0]: 'relu' became 'gelu'"
    assert compare(leaves(("static", "function", None)), leaves(("static", "function", None)), None, None, False).ok
