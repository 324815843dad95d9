"""noqa, ignore[...] and skip-file comments."""

import pytest

from catalogue import RULES_DIR
from eqx_rewrite.engine import Settings, analyse

SURGERY = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()
LINE = 'object.__setattr__(mlp, "layers", tuple(layers))  # swap the head'


@pytest.mark.parametrize(
    "comment, suppressed",
    [
        ("# noqa", True),
        ("# noqa: EQX005", True),
        ("# noqa: E501, EQX005", True),
        ("# NOQA:EQX005", True),
        ("# noqa: EQX006", False),
        ("# eqx-rewrite: ignore[EQX005]", True),
        ("# eqx-rewrite: ignore[EQX001, EQX005]", True),
        ("# eqx-rewrite: ignore", True),
        ("# eqx-rewrite: ignore[EQX006]", False),
    ],
)
def test_line_suppressions(comment, suppressed):
    source = SURGERY.replace(LINE, LINE.replace("# swap the head", comment))
    found = analyse(source, Settings()).diagnostics
    assert (found == []) == suppressed
    fixed = analyse(source, Settings(), fix=True).fixed_source
    assert (fixed == source) == suppressed, "a suppressed finding must not be fixed"


def test_noqa_on_another_line_does_not_count():
    source = SURGERY.replace("    layers[-1] = new_final", "    layers[-1] = new_final  # noqa: EQX005")
    assert len(analyse(source, Settings()).diagnostics) == 1


def test_noqa_inside_a_string_does_not_count():
    source = SURGERY.replace(LINE, LINE.replace("# swap the head", "") + '; s = "# noqa"')
    assert len(analyse(source, Settings()).diagnostics) == 1


def test_skip_file():
    source = "# eqx-rewrite: skip-file\n" + SURGERY
    assert analyse(source, Settings()).diagnostics == []
    assert analyse(source, Settings(), fix=True).fixed_source == source
