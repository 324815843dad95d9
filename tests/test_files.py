"""Bad input gets a one-line error with file and line; nothing is ever lost or half-written."""

import os
import stat
import subprocess
import sys

import pytest

from catalogue import RULES_DIR
from eqx_rewrite.files import FileError, read_source, write_atomic

SURGERY = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()
SURGERY_FIXED = (RULES_DIR / "EQX005" / "setattr_replace_layer.expected.py").read_text()


def test_syntax_error_is_reported_and_other_files_go_on(tmp_path, run_cli):
    (tmp_path / "bad.py").write_text("import equinox as eqx\n\ndef f(:\n    object.__setattr__(m, 'w', 1)\n")
    (tmp_path / "good.py").write_text(SURGERY)
    r = run_cli("--fix", ".")
    assert r.returncode == 2
    assert r.stderr.startswith("bad.py:3:")
    assert "error: SyntaxError" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "good.py").read_text() == SURGERY_FIXED
    assert (tmp_path / "bad.py").read_text().startswith("import equinox")


def test_syntax_error_found_before_libcst_runs(tmp_path, run_cli):
    (tmp_path / "bad.py").write_text("import jax\nout = jax.lax.scan(f, x, xs\n")
    r = run_cli("bad.py")
    assert r.returncode == 2 and r.stderr.startswith("bad.py:2:")


def test_crlf_stays_crlf(tmp_path, run_cli):
    path = tmp_path / "m.py"
    path.write_bytes(SURGERY.replace("\n", "\r\n").encode())
    assert run_cli("--fix", "m.py").returncode == 0
    assert path.read_bytes() == SURGERY_FIXED.replace("\n", "\r\n").encode()


def test_bom_and_latin1_declaration_are_kept(tmp_path, run_cli):
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + SURGERY.encode())
    latin = tmp_path / "latin.py"
    latin.write_bytes(("# -*- coding: latin-1 -*-\n# caf\xe9\n" + SURGERY).encode("latin-1"))
    assert run_cli("--fix", ".").returncode == 0
    assert bom.read_bytes() == b"\xef\xbb\xbf" + SURGERY_FIXED.encode()
    assert latin.read_bytes() == ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + SURGERY_FIXED).encode("latin-1")


def test_invalid_utf8_is_reported_with_its_line(tmp_path, run_cli):
    path = tmp_path / "m.py"
    path.write_bytes(b"import jax\nx = '\xff'\n")
    r = run_cli("m.py")
    assert r.returncode == 2
    assert r.stderr.startswith("m.py:2:6: error: file is not valid utf-8")
    assert path.read_bytes() == b"import jax\nx = '\xff'\n"


def test_read_only_file_is_not_replaced(tmp_path, run_cli, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root may write read-only files; covered by the next test")
    path = tmp_path / "m.py"
    path.write_text(SURGERY)
    path.chmod(0o444)
    r = run_cli("--fix", "m.py")
    assert r.returncode == 2 and "read-only" in r.stderr
    assert path.read_text() == SURGERY


def test_read_only_file_is_not_replaced_where_the_os_forbids_writing(tmp_path, monkeypatch):
    path = tmp_path / "m.py"
    path.write_text(SURGERY)
    original = read_source(path)
    monkeypatch.setattr(os, "access", lambda p, mode: False)
    with pytest.raises(FileError, match="read-only"):
        write_atomic(original, SURGERY_FIXED)
    assert path.read_text() == SURGERY


def test_failed_write_reports_the_findings_that_stand(tmp_path, run_cli):
    path = tmp_path / "m.py"
    path.write_text(SURGERY)
    (tmp_path / "sitecustomize.py").write_text(
        "import os\n_access = os.access\nos.access = lambda p, mode: False if mode & os.W_OK else _access(p, mode)\n"
    )
    r = subprocess.run(
        [sys.executable, "-m", "eqx_rewrite", "--fix", "m.py"],
        cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(tmp_path)),
    )
    assert r.returncode == 2 and "m.py:1:1: error: file is read-only" in r.stderr
    assert "m.py:14:5: EQX005" in r.stdout and "All checks passed" not in r.stdout
    assert path.read_text() == SURGERY


def test_permissions_are_kept(tmp_path, run_cli):
    path = tmp_path / "m.py"
    path.write_text(SURGERY)
    path.chmod(0o750)
    assert run_cli("--fix", "m.py").returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o750


def test_file_changed_between_read_and_write_is_not_overwritten(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(SURGERY)
    original = read_source(path)
    path.write_text(SURGERY + "# edited meanwhile\n")
    with pytest.raises(FileError, match="changed on disk"):
        write_atomic(original, SURGERY_FIXED)
    assert path.read_text() == SURGERY + "# edited meanwhile\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"], "temporary file left behind"


def test_unreadable_path_is_reported(tmp_path, run_cli):
    r = run_cli("missing.py")
    assert r.returncode == 2 and "missing.py" in r.stderr and "Traceback" not in r.stderr


def test_fix_that_would_not_parse_is_never_written(tmp_path, monkeypatch):
    from eqx_rewrite import engine
    from eqx_rewrite.runner import Job, analyse_path

    path = tmp_path / "m.py"
    path.write_text(SURGERY)
    real_apply = engine.apply_edits
    monkeypatch.setattr(engine, "apply_edits", lambda *a: real_apply(*a) + "\n)(\n")
    result = analyse_path(path, Job(engine.Settings(), fix=True, root=tmp_path))
    assert result.error is not None and "does not parse" in result.error.message
    assert not result.changed
    assert path.read_text() == SURGERY


def test_a_fix_whose_edits_overlap_is_never_applied():
    from eqx_rewrite.engine import _compatible_edits
    from eqx_rewrite.rule import Edit, Fix, Safety

    broken = Fix(Safety.SAFE, "broken", (Edit(0, 10, "a"), Edit(5, 15, "b")))
    fine = Fix(Safety.SAFE, "fine", (Edit(20, 25, "c"),))
    assert _compatible_edits([broken, fine]) == ([Edit(20, 25, "c")], 1)


def test_fix_writes_through_a_symlink_and_keeps_it(tmp_path, run_cli):
    real = tmp_path / "real"
    real.mkdir()
    (real / "m.py").write_text(SURGERY)
    (tmp_path / "m.py").symlink_to(real / "m.py")
    r = run_cli("--fix", "m.py")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m.py").is_symlink()
    assert (real / "m.py").read_text() == SURGERY_FIXED


def test_syntax_newer_than_the_running_python_is_analysed(tmp_path, run_cli):
    (tmp_path / "m.py").write_text("class Box[T]:\n    x: T\n\n\n" + SURGERY)
    r = run_cli("--check", "m.py")
    assert r.returncode == 1 and "EQX005" in r.stdout, r.stderr


def test_nul_byte_is_reported_at_its_line(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY + "\ny = '\0'\n")
    r = run_cli("--check", "m.py")
    row = SURGERY.count("\n") + 2
    assert r.returncode == 2 and r.stderr.startswith(f"m.py:{row}:6: error: SyntaxError: source contains a NUL byte")


# --- ignore files, as ruff reads them ------------------------------------------------------------
def _tree(root, files, ignore_files, git=True):
    """Files (each a finding for EQX005) and ignore files; `git`: make `root` a repository's work tree."""
    if git:
        (root / ".git" / "info").mkdir(parents=True)
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SURGERY)
    for name, text in ignore_files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _found(root, *paths, **options):
    from eqx_rewrite.files import discover

    found = discover([root / p for p in paths or ["."]], [], root, **options)
    assert found.problems == []
    return sorted((f.relative_to(root) if f.is_absolute() else f).as_posix().removeprefix("./") for f in found.files)


GITIGNORED_TREE = [
    "a.py", "ign.py", "build2/x.py", "logs/y.py", "deep/logs/z.py", "neg/n1.py", "neg/n2.py",
    "sub/b.py", "sub/c.py", "sub/top.py", "top.py", "d/x.py", "d/keep.py", "excluded.py",
]
GITIGNORES = {
    ".gitignore": "ign.py\nbuild2/\nlogs\nneg/*\n!neg/n2.py\n/top.py\nd/**\n!d/keep.py\n# a comment\n",
    "sub/.gitignore": "c.py\n",
    ".git/info/exclude": "excluded.py\n",
}
# What ruff 0.17.5 (`ruff check --show-files .`) finds in that tree.
NOT_IGNORED = ["a.py", "d/keep.py", "neg/n2.py", "sub/b.py", "sub/top.py"]


def test_gitignore_is_respected_as_ruff_does(tmp_path):
    _tree(tmp_path, GITIGNORED_TREE, GITIGNORES)
    assert _found(tmp_path) == NOT_IGNORED


def test_a_pattern_git_cannot_read_is_skipped_and_the_rest_counts(tmp_path):
    # As git does (ruff drops the whole file).
    _tree(tmp_path, ["a.py", "ign.py", "r.py"], {".gitignore": "!\n[z-a].py\nign.py\n"})
    assert _found(tmp_path) == ["a.py", "r.py"]


def test_gitignore_of_the_folders_above_a_walked_folder_counts(tmp_path):
    _tree(tmp_path, GITIGNORED_TREE, GITIGNORES)
    assert _found(tmp_path, "deep", "sub", "neg") == ["neg/n2.py", "sub/b.py", "sub/top.py"]


def test_a_deeper_gitignore_wins(tmp_path):
    _tree(tmp_path, ["m/keep.py", "m/drop.py", "m/n/keep.py"], {".gitignore": "*.py\n", "m/.gitignore": "!keep.py\n"})
    assert _found(tmp_path) == ["m/keep.py", "m/n/keep.py"]


def test_ignored_paths_named_on_the_command_line_are_checked(tmp_path):
    _tree(tmp_path, GITIGNORED_TREE, GITIGNORES)
    assert _found(tmp_path, "ign.py", "sub/c.py", "logs") == ["ign.py", "logs/y.py", "sub/c.py"]
    # --force-exclude is about exclude/extend-exclude only, as in ruff.
    assert _found(tmp_path, "ign.py", force_exclude=True) == ["ign.py"]


def test_gitignore_counts_only_in_a_git_repository(tmp_path):
    # As git and ruff read them: outside a repository .gitignore means nothing, .ignore still counts.
    _tree(tmp_path, ["a.py", "ign.py", "dot.py"], {".gitignore": "ign.py\n", ".ignore": "dot.py\n"}, git=False)
    assert _found(tmp_path) == ["a.py", "ign.py"]


def test_a_worktree_reads_its_repository_exclude_file(tmp_path):
    main, worktree = tmp_path / "main", tmp_path / "wt"
    _tree(main, [], {".git/info/exclude": "local.py\n"})
    (main / ".git" / "worktrees" / "wt").mkdir(parents=True)
    (main / ".git" / "worktrees" / "wt" / "commondir").write_text("../..\n")
    _tree(worktree, ["a.py", "local.py"], {".git": f"gitdir: {main / '.git' / 'worktrees' / 'wt'}\n"}, git=False)
    assert _found(worktree) == ["a.py"]


def test_no_respect_gitignore(tmp_path, run_cli):
    _tree(tmp_path, ["a.py", "ign.py"], {".gitignore": "ign.py\n"})
    assert "ign.py" not in run_cli("--check", ".").stdout
    assert "ign.py:14:5: EQX005" in run_cli("--check", "--no-respect-gitignore", ".").stdout
    (tmp_path / "pyproject.toml").write_text("[tool.eqx-rewrite]\nrespect-gitignore = false\n")
    assert "ign.py:14:5: EQX005" in run_cli("--check", ".").stdout
    assert "ign.py" not in run_cli("--check", "--respect-gitignore", ".").stdout


@pytest.mark.parametrize(
    "head, row",
    [
        (b"# -*- coding: foo -*-\n", 1),
        (b"#!/usr/bin/env python\n# coding: bar\n", 2),
        (b"\xef\xbb\xbf# coding: latin-1\n", 1),
        (b"x = '\xff'  # no declaration, not UTF-8\n", 1),
        (b"#!/usr/bin/env python\nx = '\xff'\n", 2),
    ],
)
def test_bad_encoding_declaration_is_reported_at_its_line(tmp_path, run_cli, head, row):
    (tmp_path / "m.py").write_bytes(head + SURGERY.encode())
    r = run_cli("--check", "m.py")
    assert r.returncode == 2
    assert r.stderr.startswith(f"m.py:{row}:1: error: "), r.stderr
