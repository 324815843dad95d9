"""The habits users bring from ruff: --show-fixes, --statistics, -o, --add-noqa, --extend-select and
ALL, `-` for stdin, conflicting modes refused, colour, `clean`, and the formatter's line length."""

import json
import os
import pty
import subprocess
import sys

import pytest

from catalogue import RULES_DIR
from eqx_rewrite.noqa import add_noqa
from test_notebooks import TRAINING

SURGERY = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()
SURGERY_FIXED = (RULES_DIR / "EQX005" / "setattr_replace_layer.expected.py").read_text()
SCAN_BUG = (RULES_DIR / "EQX006" / "def_body_reads_init.py").read_text()
SURGERY_LINE = "m.py:14:5: EQX005 [*] `object.__setattr__` mutates the frozen module `mlp` in place\n"


@pytest.fixture
def two_files(tmp_path):
    (tmp_path / "m.py").write_text(SURGERY)
    (tmp_path / "s.py").write_text(SCAN_BUG)
    return tmp_path


# --- --show-fixes and --statistics ---------------------------------------------------------------
def test_show_fixes_lists_what_fix_fixed_per_file(two_files, run_cli):
    r = run_cli("--fix", "--show-fixes", ".")
    assert "Fixed 1 finding:\n- m.py:\n    1 \u00d7 EQX005 (module-mutation)\n\n" in r.stdout
    assert "s.py" not in r.stdout.split("Fixed 1 finding:")[1]  # its fix is unsafe: nothing fixed there


def test_show_fixes_lists_what_fix_would_fix(two_files, run_cli):
    r = run_cli("--check", "--show-fixes", ".")
    assert "1 finding fixable with --fix:\n- m.py:\n    1 \u00d7 EQX005 (module-mutation)\n" in r.stdout
    r = run_cli("--unsafe-fixes", "--show-fixes", ".")
    assert "2 findings fixable with --fix:\n- m.py:\n    1 \u00d7 EQX005 (module-mutation)\n- s.py:\n    1 \u00d7 EQX006 (scan-carry-unused)\n" in r.stdout
    r = run_cli("--diff", "--show-fixes", ".")
    assert r.stdout.startswith("--- a/m.py")  # the diff keeps stdout; the list goes with the summary
    assert "Would fix 1 finding:\n- m.py:\n" in r.stderr


def test_statistics_count_per_code_most_frequent_first(tmp_path, run_cli):
    for name in ("a", "b"):
        (tmp_path / f"{name}.py").write_text(SCAN_BUG)
    (tmp_path / "m.py").write_text(SURGERY)
    r = run_cli("--statistics", ".")
    assert r.returncode == 1
    assert r.stdout.startswith("2\tEQX006\t[ ] scan-carry-unused\n1\tEQX005\t[*] module-mutation\n")
    assert "EQX006 [-]" not in r.stdout  # the findings themselves are not listed
    stats = json.loads(run_cli("--statistics", "--output-format", "json", "--unsafe-fixes", ".").stdout)
    assert stats == [
        {"code": "EQX006", "name": "scan-carry-unused", "count": 2, "fixable": True, "fixable_count": 2},
        {"code": "EQX005", "name": "module-mutation", "count": 1, "fixable": True, "fixable_count": 1},
    ]
    r = run_cli("--statistics", "--output-format", "sarif", ".")
    assert r.returncode == 2 and "--statistics needs --output-format" in r.stderr


# --- -o/--output-file ----------------------------------------------------------------------------
def test_output_file_holds_the_report_and_the_summary_goes_to_stderr(two_files, run_cli):
    plain = run_cli("--output-format", "concise", ".")
    r = run_cli("--output-format", "concise", "-o", "reports/lint.txt", ".")
    assert r.returncode == 1 and r.stdout == ""
    report = (two_files / "reports" / "lint.txt").read_text()
    assert report.startswith(SURGERY_LINE) and "Found" not in report
    assert plain.stdout.startswith(report)
    assert r.stderr == "Found 2 findings (1 fixable with --fix, 1 more with --unsafe-fixes).\n"


def test_output_file_is_replaced_by_a_rename(two_files, run_cli):
    target = two_files / "lint.json"
    target.write_text("old report")
    before = target.stat().st_ino
    run_cli("--output-format", "json", "--output-file", "lint.json", ".")
    assert [d["code"] for d in json.loads(target.read_text())] == ["EQX005", "EQX006"]
    assert target.stat().st_ino != before  # a new file renamed into place, never a half-written one
    assert sorted(p.name for p in two_files.iterdir() if "lint" in p.name) == ["lint.json"]


def test_output_file_that_cannot_be_written_is_one_line_exit_2(two_files, run_cli):
    (two_files / "blocker").write_text("a file, not a folder")
    r = run_cli("-o", "blocker/lint.txt", ".")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "blocker/lint.txt: cannot write the report" in r.stderr


# --- --add-noqa ----------------------------------------------------------------------------------
def test_add_noqa_makes_the_next_check_clean(tmp_path, run_cli):
    (tmp_path / "m.py").write_bytes(SURGERY.replace("# swap the head", "# noqa: E501").replace("\n", "\r\n").encode())
    (tmp_path / "s.py").write_text(SCAN_BUG)
    (tmp_path / "nb.ipynb").write_text(TRAINING)
    assert run_cli("--check", ".").returncode == 1
    r = run_cli("--add-noqa", ".")
    assert r.returncode == 0, r.stderr
    assert r.stderr.endswith("Added 4 noqa comments.\n") and r.stdout == ""
    again = run_cli("--check", "--no-cache", ".")
    assert again.returncode == 0 and "All checks passed!" in again.stdout
    fixed = (tmp_path / "m.py").read_bytes()
    assert b'tuple(layers))  # noqa: E501, EQX005\r\n' in fixed  # merged with the comment there
    assert fixed.count(b"\n") == fixed.count(b"\r\n")  # newline style kept
    assert "def f(_x, _dynamic):  # noqa: EQX006\n" in (tmp_path / "s.py").read_text()
    assert run_cli("--add-noqa", ".").stderr.endswith("Added 0 noqa comments.\n")


def test_add_noqa_changes_only_the_notebook_cells_it_comments(tmp_path, run_cli):
    (tmp_path / "nb.ipynb").write_text(TRAINING)
    run_cli("--add-noqa", "nb.ipynb")
    before, after = json.loads(TRAINING), json.loads((tmp_path / "nb.ipynb").read_text())
    changed = [i for i, (a, b) in enumerate(zip(before["cells"], after["cells"])) if a != b]
    assert changed and all(before["cells"][i]["source"] != after["cells"][i]["source"] for i in changed)
    for i in changed:
        assert {**before["cells"][i], "source": None} == {**after["cells"][i], "source": None}
    assert any("# noqa: EQX" in line for i in changed for line in after["cells"][i]["source"])
    assert run_cli("--check", "nb.ipynb").returncode == 0


def test_add_noqa_conflicts_with_other_modes_and_stdin(run_cli):
    assert run_cli("--add-noqa", "--fix", ".").returncode == 2
    assert run_cli("--add-noqa", "-", input=SURGERY).returncode == 2


def test_add_noqa_leaves_lines_that_end_in_a_string_or_a_continuation():
    source = 'a = f("""x\n  y""")\nb = 1 + \\\n    2\nc = 3  # why\nd = 4  # noqa: EQX0\n'
    added = add_noqa(source, {1: {"EQX005"}, 3: {"EQX005"}, 5: {"EQX006"}, 6: {"EQX001"}})
    assert added.refused == [1, 3]
    assert added.added == 1  # `# noqa: EQX0` already covers EQX001
    assert added.text == 'a = f("""x\n  y""")\nb = 1 + \\\n    2\nc = 3  # why  # noqa: EQX006\nd = 4  # noqa: EQX0\n'


# --- selection -----------------------------------------------------------------------------------
def codes(result):
    return sorted(d["code"] for d in json.loads(result.stdout))


def test_extend_select_adds_to_the_configured_selection(two_files, run_cli):
    (two_files / "pyproject.toml").write_text('[tool.eqx-rewrite]\nselect = ["EQX005"]\n')
    assert codes(run_cli("--output-format", "json", ".")) == ["EQX005"]
    assert codes(run_cli("--output-format", "json", "--extend-select", "EQX006", ".")) == ["EQX005", "EQX006"]
    assert codes(run_cli("--output-format", "json", "--select", "EQX001", "--extend-select", "EQX006", ".")) == ["EQX006"]
    (two_files / "pyproject.toml").write_text('[tool.eqx-rewrite]\nselect = ["EQX001"]\nextend-select = ["eqx006"]\n')
    assert codes(run_cli("--output-format", "json", ".")) == ["EQX006"]


def test_all_selects_and_ignores_every_rule(two_files, run_cli):
    assert codes(run_cli("--output-format", "json", "--select", "ALL", ".")) == ["EQX005", "EQX006"]
    assert codes(run_cli("--output-format", "json", "--select", "all", "--ignore", "EQX006", ".")) == ["EQX005"]
    assert codes(run_cli("--output-format", "json", "--ignore", "ALL", ".")) == []
    assert codes(run_cli("--output-format", "json", "--ignore", "ALL", "--select", "EQX006", ".")) == ["EQX006"]
    (two_files / "pyproject.toml").write_text('[tool.eqx-rewrite]\nselect = ["ALL"]\nignore = ["EQX005"]\n')
    assert codes(run_cli("--output-format", "json", ".")) == ["EQX006"]
    assert codes(run_cli("--output-format", "json", "--extend-select", "ALL", ".")) == ["EQX006"]


# --- `-` for stdin -------------------------------------------------------------------------------
def test_dash_reads_stdin(tmp_path, run_cli):
    r = run_cli("--output-format", "concise", "-", input=SURGERY)
    assert r.returncode == 1 and r.stdout.startswith("-:14:5: EQX005 [*] ")
    r = run_cli("--output-format", "concise", "--stdin-filename", "pkg/m.py", "-", input=SURGERY)
    assert r.stdout.startswith("pkg/m.py:14:5: EQX005")
    assert run_cli("--fix", "-", input=SURGERY).stdout == SURGERY_FIXED
    (tmp_path / "m.py").write_text(SURGERY)
    r = run_cli("-", "m.py", input=SURGERY)
    assert r.returncode == 2 and "cannot be combined with other paths" in r.stderr


# --- modes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("flags", [("--check", "--fix"), ("--fix", "--check"), ("--diff", "--fix"), ("--check", "--diff")])
def test_conflicting_modes_are_a_usage_error(tmp_path, run_cli, flags):
    (tmp_path / "m.py").write_text(SURGERY)
    r = run_cli(*flags, "m.py")
    assert r.returncode == 2
    assert "cannot be used together" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "m.py").read_text() == SURGERY and r.stdout == ""


def test_no_mode_is_check(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    assert run_cli("m.py").stdout == run_cli("--check", "m.py").stdout


# --- colour --------------------------------------------------------------------------------------
RED_CODE = "\x1b[1;31mEQX005\x1b[0m"


def on_terminal(tmp_path, *args, **env):
    """Run with stdout on a pseudo-terminal, as in an interactive shell."""
    master, slave = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")} | env
    proc = subprocess.run(
        [sys.executable, "-m", "eqx_rewrite", *args], cwd=tmp_path, stdout=slave, stderr=subprocess.PIPE,
        env=environment, timeout=120,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal's other end is closed: everything was read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.returncode == 1, proc.stderr
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_unless_no_color(tmp_path):
    (tmp_path / "m.py").write_text(SURGERY)
    assert RED_CODE in on_terminal(tmp_path, "--output-format", "concise", "m.py")
    assert "\x1b[" not in on_terminal(tmp_path, "--output-format", "concise", "m.py", NO_COLOR="1")
    assert "\x1b[" not in on_terminal(tmp_path, "--color", "never", "m.py")


def test_colour_flags_and_force_color_through_a_pipe(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    assert "\x1b[" not in run_cli("m.py").stdout
    always = run_cli("--color", "always", "--output-format", "concise", "m.py").stdout
    assert always.startswith("\x1b[1mm.py\x1b[0m\x1b[36m:\x1b[0m14") and RED_CODE in always
    forced = subprocess.run(
        [sys.executable, "-m", "eqx_rewrite", "--output-format", "concise", "m.py"], cwd=tmp_path,
        capture_output=True, text=True, env=dict(os.environ, FORCE_COLOR="1"), timeout=120,
    )
    assert RED_CODE in forced.stdout
    assert "\x1b[" not in run_cli("--color", "always", "--output-format", "json", "m.py").stdout


# --- clean ---------------------------------------------------------------------------------------
def test_clean_removes_the_projects_cache(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text("[tool.eqx-rewrite]\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(SURGERY)
    run_cli(".")
    assert (tmp_path / ".eqx_rewrite_cache").is_dir()
    r = run_cli("clean", cwd=tmp_path / "pkg")
    assert r.returncode == 0 and "Removed the cache at" in r.stderr
    assert not (tmp_path / ".eqx_rewrite_cache").exists()
    assert (tmp_path / "pkg" / "m.py").read_text() == SURGERY
    assert run_cli("clean").returncode == 0  # nothing left to remove is no error


def test_a_folder_named_clean_is_still_checked_by_its_path(tmp_path, run_cli):
    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "m.py").write_text(SURGERY)
    assert run_cli("./clean").returncode == 1


# --- the formatter's line length -----------------------------------------------------------------
def test_black_line_length_is_used_without_an_eqx_rewrite_table(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.black]\nline-length = 40\n")
    (tmp_path / "m.py").write_text(SURGERY)
    assert run_cli("--fix", "m.py").returncode == 0
    fixed = (tmp_path / "m.py").read_text()
    assert "eqx.tree_at(" in fixed and fixed != SURGERY_FIXED
    assert "mlp = eqx.tree_at(lambda mlp: mlp.layers, mlp, tuple(layers))" not in fixed
