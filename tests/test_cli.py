"""The command line as users call it: modes, exit codes, stdin, selection, discovery."""

import json

from catalogue import RULES_DIR

SURGERY = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()
SURGERY_FIXED = (RULES_DIR / "EQX005" / "setattr_replace_layer.expected.py").read_text()
SCAN_BUG = (RULES_DIR / "EQX006" / "def_body_reads_init.py").read_text()
CLEAN = "import equinox as eqx\n\nx = 1\n"


def test_check_reports_and_exits_1(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    r = run_cli("--check", "m.py")
    assert r.returncode == 1
    assert "m.py:14:5: EQX005 [*]" in r.stdout
    assert "Found 1 finding (1 fixable with --fix)." in r.stdout
    assert (tmp_path / "m.py").read_text() == SURGERY


def test_clean_tree_exits_0(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(CLEAN)
    r = run_cli(".")
    assert r.returncode == 0 and "All checks passed!" in r.stdout


def test_fix_writes_safe_fixes_and_exits_0_when_nothing_remains(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    r = run_cli("--fix", "m.py")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m.py").read_text() == SURGERY_FIXED
    assert "Fixed 1 finding." in r.stdout


def test_fix_exits_1_while_unsafe_findings_remain(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SCAN_BUG)
    r = run_cli("--fix", "m.py")
    assert r.returncode == 1
    assert (tmp_path / "m.py").read_text() == SCAN_BUG
    assert "1 more with --unsafe-fixes" in r.stdout
    r = run_cli("--fix", "--unsafe-fixes", "m.py")
    assert r.returncode == 0
    assert "return mlp(_x), None" in (tmp_path / "m.py").read_text()


def test_diff_writes_nothing_and_exits_1(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    r = run_cli("--diff", "m.py")
    assert r.returncode == 1
    assert r.stdout.startswith("--- a/m.py\n+++ b/m.py\n")
    assert "+    mlp = eqx.tree_at(lambda mlp: mlp.layers, mlp, tuple(layers))" in r.stdout
    assert "Would fix 1 finding." in r.stderr
    assert (tmp_path / "m.py").read_text() == SURGERY


def test_exit_zero(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    assert run_cli("--exit-zero", "m.py").returncode == 0


def test_select_and_ignore(tmp_path, run_cli):
    (tmp_path / "a.py").write_text(SURGERY)
    (tmp_path / "b.py").write_text(SCAN_BUG)
    codes = lambda r: sorted(d["code"] for d in json.loads(r.stdout))
    assert codes(run_cli("--output-format", "json", ".")) == ["EQX005", "EQX006"]
    assert codes(run_cli("--output-format", "json", "--select", "EQX006", ".")) == ["EQX006"]
    assert codes(run_cli("--output-format", "json", "--ignore", "EQX00", "--select", "EQX005", ".")) == ["EQX005"]
    assert codes(run_cli("--output-format", "json", "--ignore", "EQX005,EQX006", ".")) == []


def test_unknown_code_is_a_usage_error(tmp_path, run_cli):
    r = run_cli("--select", "EQX999", ".")
    assert r.returncode == 2
    assert "unknown rule code or prefix 'EQX999'" in r.stderr
    assert "Traceback" not in r.stderr


def test_stdin_fix_prints_fixed_source(tmp_path, run_cli):
    r = run_cli("--fix", "--stdin-filename", "model.py", input=SURGERY)
    assert r.returncode == 0
    assert r.stdout == SURGERY_FIXED


def test_stdin_check_uses_the_filename(tmp_path, run_cli):
    r = run_cli("--stdin-filename", "pkg/model.py", "--output-format", "concise", input=SURGERY)
    assert r.returncode == 1
    assert r.stdout.startswith("pkg/model.py:14:5: EQX005 [*] ")


def test_paths_default_to_configured_src(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[tool.eqx-rewrite]\nsrc = ["src"]\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text(SURGERY)
    (tmp_path / "other.py").write_text(SCAN_BUG)
    r = run_cli("--output-format", "json")
    assert [d["code"] for d in json.loads(r.stdout)] == ["EQX005"]


def test_discovery_skips_venvs_build_and_excludes(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[tool.eqx-rewrite]\nextend-exclude = ["legacy", "gen_*.py"]\n')
    for folder in (".venv/lib", "build", "dist", ".git", "__pycache__", "legacy", "env"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "m.py").write_text(SURGERY)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "gen_model.py").write_text(SURGERY)
    (tmp_path / "kept.py").write_text(SURGERY)
    r = run_cli("--output-format", "json", ".")
    assert [d["filename"] for d in json.loads(r.stdout)] == ["kept.py"]


def test_list_rules_and_explain(run_cli):
    r = run_cli("--list-rules")
    assert "EQX005  module-mutation" in r.stdout and "EQX006  scan-carry-unused" in r.stdout
    r = run_cli("--explain", "eqx006")
    assert r.returncode == 0
    for section in ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "Verification"):
        assert f"## {section}" in r.stdout
    assert run_cli("--explain", "EQX123").returncode == 2


def test_version(run_cli):
    from eqx_rewrite import __version__

    r = run_cli("--version")
    assert r.returncode == 0 and __version__ in r.stdout


def test_many_files_in_a_pool_give_the_same_findings(tmp_path, run_cli):
    for i in range(40):
        (tmp_path / f"m{i:02}.py").write_text(SURGERY if i % 3 else SCAN_BUG)
    one = run_cli("-j", "1", "--output-format", "json", ".")
    two = run_cli("-j", "2", "--output-format", "json", ".")
    assert one.stdout == two.stdout
    assert len(json.loads(one.stdout)) == 40


def test_check_does_not_import_jax(tmp_path, run_cli):
    import subprocess
    import sys

    (tmp_path / "m.py").write_text(SURGERY)
    code = (
        "import sys; from eqx_rewrite.cli import main; sys.argv=['eqx-rewrite','--fix','m.py'];\n"
        "try: main()\nexcept SystemExit: pass\n"
        "assert 'jax' not in sys.modules and 'equinox' not in sys.modules, 'jax imported'"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_missing_paths_and_symlink_loops_are_errors_and_the_rest_is_checked(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "up").symlink_to(tmp_path)  # a link back up is not followed
    (tmp_path / "pkg" / ".#m.py").symlink_to(tmp_path / "gone.py")  # an editor's lock file
    r = run_cli("--output-format", "json", "nothere.py", "loop_a", ".")
    assert r.returncode == 2
    assert [d["filename"] for d in json.loads(r.stdout)] == ["m.py"]
    assert r.stderr.splitlines() == ["nothere.py: error: no such file or directory", "loop_a: error: too many levels of symbolic links"]


def test_unreadable_folder_is_an_error_and_the_rest_is_checked(tmp_path, monkeypatch):
    # Run in-process: as root no folder is unreadable, so the OS's refusal is simulated.
    import os

    from click.testing import CliRunner

    from eqx_rewrite.cli import cli

    (tmp_path / "m.py").write_text(SURGERY)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "s.py").write_text(SURGERY)
    scandir = os.scandir

    def refusing(path="."):
        if os.path.basename(os.fspath(path)) == "secret":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["--no-cache", "--output-format", "concise", "."])
    assert r.exit_code == 2
    # `output` holds stdout and stderr together under every click version.
    assert "m.py:14:5: EQX005" in r.output and "s.py" not in r.output
    assert "secret: error: cannot read directory: permission denied" in r.output


def test_force_exclude_applies_excludes_to_named_files(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[tool.eqx-rewrite]\nextend-exclude = ["legacy/*"]\n')
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.py").write_text(SURGERY)
    assert run_cli("--check", "legacy/old.py").returncode == 1  # named files are checked, as in ruff
    r = run_cli("--fix", "--force-exclude", "legacy/old.py")
    assert r.returncode == 0 and (tmp_path / "legacy" / "old.py").read_text() == SURGERY
