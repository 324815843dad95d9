"""The hooks in .pre-commit-hooks.yaml, run by pre-commit itself in a throwaway git repository."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from catalogue import RULES_DIR

ROOT = Path(__file__).resolve().parent.parent
SURGERY = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()
SURGERY_FIXED = (RULES_DIR / "EQX005" / "setattr_replace_layer.expected.py").read_text()


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "model.py").write_text(SURGERY)
    git(tmp_path, "add", "model.py")
    return tmp_path


def run_hook(repo, hook_id):
    # `language: system` runs the eqx-rewrite installed beside this test, so no network is needed;
    # the entries themselves come from the real .pre-commit-hooks.yaml.
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = dict(hooks[hook_id], language="system", entry=f"{Path(sys.executable).parent}/{hooks[hook_id]['entry']}")
    config = {"repos": [{"repo": "local", "hooks": [hook]}]}
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PRE_COMMIT_HOME=str(repo / ".cache"))
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", hook_id, "--all-files"],
        cwd=repo, capture_output=True, text=True, env=env, timeout=300,
    )


def test_check_hook_fails_on_findings(repo):
    r = run_hook(repo, "eqx-rewrite")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "model.py:14:5: EQX005" in r.stdout
    assert (repo / "model.py").read_text() == SURGERY


def test_fix_hook_rewrites_then_passes(repo):
    r = run_hook(repo, "eqx-rewrite-fix")
    assert r.returncode == 1  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in r.stdout
    assert (repo / "model.py").read_text() == SURGERY_FIXED
    assert run_hook(repo, "eqx-rewrite-fix").returncode == 0
