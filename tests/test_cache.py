"""The findings cache: read when nothing changed, invalidated by content, settings and version."""

import json
import os
import subprocess
import sys
import time

from catalogue import RULES_DIR
from eqx_rewrite import cache as cache_module
from eqx_rewrite.engine import Settings
from eqx_rewrite.rule import RuleSelection

SURGERY = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()


def entries(tmp_path):
    return sorted((tmp_path / ".eqx_rewrite_cache").glob("*/*/*.json"))


def plant_marker(tmp_path):
    """Rewrite every cached finding's message, so output that shows it came from the cache."""
    for path in entries(tmp_path):
        entry = json.loads(path.read_text())
        for d in entry["diagnostics"]:
            d["message"] = "FROM CACHE"
        path.write_text(json.dumps(entry))


def messages(result):
    return [d["message"] for d in json.loads(result.stdout)]


def test_unchanged_files_are_read_from_the_cache(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    first = run_cli("--output-format", "json", ".")
    assert len(entries(tmp_path)) == 1 and (tmp_path / ".eqx_rewrite_cache" / ".gitignore").exists()
    plant_marker(tmp_path)
    assert messages(run_cli("--output-format", "json", ".")) == ["FROM CACHE"]
    assert messages(run_cli("--output-format", "json", "--no-cache", ".")) == messages(first)


def test_content_and_settings_changes_miss_the_cache(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    run_cli(".")
    plant_marker(tmp_path)
    (tmp_path / "m.py").write_text(SURGERY + "\n# edited\n")
    assert messages(run_cli("--output-format", "json", ".")) != ["FROM CACHE"]
    plant_marker(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.eqx-rewrite.EQX001]\nmin-layers = 3\n")
    assert messages(run_cli("--output-format", "json", ".")) != ["FROM CACHE"]


def test_fixes_never_come_from_the_cache(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    run_cli(".")
    plant_marker(tmp_path)
    assert run_cli("--fix", ".").returncode == 0
    assert "tree_at" in (tmp_path / "m.py").read_text()


def test_version_code_and_project_indexes_are_in_the_key(monkeypatch):
    base = cache_module.fingerprint(Settings())
    assert cache_module.fingerprint(Settings(project_module_classes=frozenset({"Block"}))) != base
    assert cache_module.fingerprint(Settings(project_jitted=frozenset({("steps", "make_step")}))) != base
    assert cache_module.fingerprint(Settings(selection=RuleSelection(("EQX001",)))) != base
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda: "edited")
    assert cache_module.fingerprint(Settings()) != base
    monkeypatch.undo()
    monkeypatch.setattr(cache_module, "__version__", "99.0")
    assert cache_module.fingerprint(Settings()) != base


def test_no_cache_writes_nothing(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    run_cli("--no-cache", ".")
    assert not (tmp_path / ".eqx_rewrite_cache").exists()


def test_concurrent_runs_agree_and_leave_valid_entries(tmp_path):
    for i in range(30):
        (tmp_path / f"m{i}.py").write_text(SURGERY.replace("swap the head", f"swap {i}"))
    command = [sys.executable, "-m", "eqx_rewrite", "--output-format", "json", "-j", "2", "."]
    runs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 1 for run in runs)
    assert outputs[0] == outputs[1] == outputs[2] and len(json.loads(outputs[0])) == 30
    for path in entries(tmp_path):
        json.loads(path.read_text())
    assert not list((tmp_path / ".eqx_rewrite_cache").glob("*/*/*.tmp"))


def age(path, days):
    then = time.time() - days * 24 * 3600
    os.utime(path, (then, then))


def test_writing_prunes_other_versions_and_entries_unread_for_a_month(tmp_path, run_cli):
    cache = tmp_path / ".eqx_rewrite_cache"
    (tmp_path / "used.py").write_text(SURGERY)
    (tmp_path / "gone.py").write_text(SURGERY.replace("swap the head", "swap"))
    run_cli(".")
    [current] = [p for p in cache.iterdir() if p.is_dir()]
    assert len(entries(tmp_path)) == 2
    stale = {
        "older version": cache / "0.0.1-0123456789abcdef" / "ab" / "ab12.json",
        "layout before version folders": cache / "cd" / "cd34.json",
    }
    for path in stale.values():
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    (tmp_path / "gone.py").unlink()  # its entry is never read again
    for path in entries(tmp_path):
        age(path, 40)
    age(cache / "last-pruned", 2)
    (tmp_path / "new.py").write_text(SURGERY.replace("swap the head", "new"))  # a miss: the run writes
    assert run_cli(".").returncode == 1
    for what, path in stale.items():
        assert not path.exists(), what
    assert sorted(p.name for p in cache.iterdir()) == [".gitignore", current.name, "last-pruned"]
    # used.py's entry was read, which renewed it; gone.py's was not, and is dropped.
    assert len(entries(tmp_path)) == 2
    plant_marker(tmp_path)
    assert messages(run_cli("--output-format", "json", "used.py")) == ["FROM CACHE"]


def test_pruning_runs_at_most_once_a_day(tmp_path, run_cli):
    cache = tmp_path / ".eqx_rewrite_cache"
    (tmp_path / "a.py").write_text(SURGERY)
    run_cli(".")
    other = cache / "0.0.1-0123456789abcdef"
    other.mkdir()
    (tmp_path / "b.py").write_text(SURGERY.replace("swap the head", "b"))
    run_cli(".")
    assert other.exists()  # pruned by the first run, less than a day ago
    age(cache / "last-pruned", 2)
    (tmp_path / "c.py").write_text(SURGERY.replace("swap the head", "c"))
    run_cli(".")
    assert not other.exists()
