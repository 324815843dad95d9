"""[tool.eqx-rewrite]: discovery, validation with clear errors, flags overriding config."""

import json

import pytest

from catalogue import RULES_DIR
from eqx_rewrite.config import ConfigError, find_config, load_config

SURGERY = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()
SCAN_BUG = (RULES_DIR / "EQX006" / "def_body_reads_init.py").read_text()


def write(tmp_path, table):
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname = 'x'\n\n[tool.eqx-rewrite]\n" + table)
    return path


def test_found_walking_up_from_the_first_path(tmp_path):
    path = write(tmp_path, 'select = ["EQX005"]\n')
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_config(tmp_path / "a" / "b" / "m.py") == path
    assert load_config(path).select == ["EQX005"]


@pytest.mark.parametrize(
    "table, message",
    [
        ("colour = 1\n", "pyproject.toml:5: unknown key `colour` in [tool.eqx-rewrite]"),
        ('select = "EQX005"\n', "pyproject.toml:5: `select` must be a list of rule codes or prefixes"),
        ('ignore = ["F401"]\n', "pyproject.toml:5: `ignore`: unknown rule code or prefix 'F401'"),
        ("line-length = 5\n", "`line-length` must be an integer from 20 to 320"),
        ('target-version = "py39"\n', "`target-version` must be one of py310, py311, py312, py313, py314, got 'py39'"),
        ('unsafe-fixes = "yes"\n', "`unsafe-fixes` must be true or false"),
        ("[tool.eqx-rewrite.EQX005]\nspeed = 3\n", "unknown option `speed` for EQX005"),
        ("select = [\n", "invalid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path, table, message):
    path = write(tmp_path, table)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)


def test_bad_config_is_one_line_exit_2(tmp_path, run_cli):
    write(tmp_path, "colour = 1\n")
    (tmp_path / "m.py").write_text(SURGERY)
    r = run_cli("m.py")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "unknown key `colour`" in r.stderr


def test_flags_override_config(tmp_path, run_cli):
    write(tmp_path, 'select = ["EQX005"]\nunsafe-fixes = true\n')
    (tmp_path / "a.py").write_text(SURGERY)
    (tmp_path / "b.py").write_text(SCAN_BUG)
    codes = lambda r: sorted(d["code"] for d in json.loads(r.stdout))
    assert codes(run_cli("--output-format", "json", ".")) == ["EQX005"]
    assert codes(run_cli("--output-format", "json", "--select", "EQX006", ".")) == ["EQX006"]
    run_cli("--fix", "--no-unsafe-fixes", "--select", "EQX006", ".")
    assert (tmp_path / "b.py").read_text() == SCAN_BUG
    run_cli("--fix", "--select", "EQX006", ".")  # unsafe-fixes from config
    assert (tmp_path / "b.py").read_text() != SCAN_BUG


def test_per_file_ignores(tmp_path, run_cli):
    write(tmp_path, '[tool.eqx-rewrite.per-file-ignores]\n"tests/*" = ["EQX005"]\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.py").write_text(SURGERY)
    (tmp_path / "m.py").write_text(SURGERY)
    r = run_cli("--output-format", "json", ".")
    assert [d["filename"] for d in json.loads(r.stdout)] == ["m.py"]


def test_explicit_config_flag(tmp_path, run_cli):
    other = tmp_path / "conf" / "pyproject.toml"
    other.parent.mkdir()
    other.write_text('[tool.eqx-rewrite]\nignore = ["EQX005"]\n')
    (tmp_path / "m.py").write_text(SURGERY)
    assert run_cli("--config", other, "m.py").returncode == 0


def test_line_length_follows_black(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 60\n\n[tool.eqx-rewrite]\n")
    src = SURGERY.replace("object.__setattr__(mlp, \"layers\", tuple(layers))  # swap the head",
                          "object.__setattr__(mlp, \"layers\", tuple(layers))")
    (tmp_path / "m.py").write_text(src)
    run_cli("--fix", "m.py")
    fixed = (tmp_path / "m.py").read_text()
    assert "    mlp = eqx.tree_at(\n        lambda mlp: mlp.layers, mlp, tuple(layers)\n    )\n" in fixed


@pytest.mark.parametrize(
    "requires, target",
    [
        (">=3.11", "py311"),
        (">=3.10,<4", "py310"),
        ("~=3.12", "py312"),
        ("==3.13.*", "py313"),
        (">3.10", "py311"),
        (">3.10.2", "py310"),
        (">=3.8", "py310"),  # older than any target: the oldest
        (">=3.20", "py314"),
        ("<4", "py314"),  # no lower bound: the newest
        (">=3.10, !=3.11.*, >=3.12", "py312"),  # every bound holds: the highest decides
    ],
)
def test_target_version_defaults_from_requires_python(tmp_path, requires, target):
    (tmp_path / "pyproject.toml").write_text(f"[project]\nrequires-python = {requires!r}\n\n[tool.eqx-rewrite]\n")
    assert load_config(tmp_path / "pyproject.toml").target_version == target
    assert load_config(None, tmp_path).target_version == target  # no table: the nearest pyproject


def test_target_version_key_overrides_requires_python_and_the_flag_overrides_both(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.10"\n\n[tool.eqx-rewrite]\ntarget-version = "py312"\n')
    assert load_config(tmp_path / "pyproject.toml").target_version == "py312"
    assert load_config(None).target_version == "py314"
    (tmp_path / "m.py").write_text(SURGERY)
    assert run_cli("--target-version", "py311", "m.py").returncode == 1
    bad = run_cli("--target-version", "py39", "m.py")
    assert bad.returncode == 2 and "'py39' is not one of 'py310'" in bad.stderr


def test_generated_code_is_formatted_for_every_python_from_the_target():
    import black

    from eqx_rewrite.codegen import _black_targets

    assert _black_targets(black, "py312") == {v for v in black.TargetVersion if v.value >= black.TargetVersion.PY312.value}
    assert _black_targets(black, None) == set()


def _error_line(tmp_path, text):
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(f"{path}:"), message
    return int(message[len(str(path)) + 1 :].split(":", 1)[0])


RUFF_ABOVE = '''[tool.ruff]
line-length = 100
select = ["E"]
ignore = ["E501"]
extend-exclude = ["x"]
unsafe-fixes = true

[tool.ruff.lint.per-file-ignores]
"tests/*" = ["S101"]

[tool.ruff.lint.pydocstyle]
convention = "google"

[tool.other]
doc = """
[tool.eqx-rewrite]
select = "not here either"
"""
'''


@pytest.mark.parametrize(
    "table, key_row",
    [
        ('select = "EQX005"\n', 2),
        ('unsafe-fixes = true\nignore = ["F401"]\n', 3),
        ('extend-exclude = "legacy"\n', 2),
        ("line-length = 5\n", 2),
        ('\n[tool.eqx-rewrite.per-file-ignores]\n"tests/*" = ["S101"]\n', 4),
        ("\n[tool.eqx-rewrite.EQX001]\nmin-layers = 0\n", 4),
        ("\n[tool.eqx-rewrite.eqx001]\nmin-layers = 0\n", 4),
        ('verify = { cmd = "pytest", timeout = -1 }\n', 2),
        ("\n[tool.eqx-rewrite.verify]\nentries = []\ncmd = ''\n", 5),
        ('"select" = [\n  "EQX",\n]\nignore = [\n  "F401",\n]\n', 5),
    ],
)
def test_a_bad_key_is_reported_at_its_own_line(tmp_path, table, key_row):
    # Each key is first written, with the same name, in [tool.ruff] or in a string above.
    offset = RUFF_ABOVE.count("\n") + 1
    assert _error_line(tmp_path, RUFF_ABOVE + "[tool.eqx-rewrite]\n" + table) == offset + key_row - 1


def test_dotted_keys_are_found(tmp_path):
    text = '[tool.ruff]\nselect = ["E"]\n\n[tool]\neqx-rewrite.select = ["F401"]\n'
    assert _error_line(tmp_path, text) == 5
