"""--verify end to end: what verifies is written, what does not is held back with the reason."""

import json
import subprocess
import sys
import textwrap

from catalogue import RULES_DIR

SURGERY = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()
SCAN_BUG = (RULES_DIR / "EQX006" / "def_body_reads_init.py").read_text()
STACK = (RULES_DIR / "EQX001" / "same_key_every_layer.py").read_text()
PYPROJECT = "[tool.eqx-rewrite]\n"

# Two scans that ignore their carry: fixing the one-step scan keeps its result, fixing the other does not.
TWO_SCANS = textwrap.dedent(
    """\
    import jax.numpy as jnp
    from jax import lax


    def run():
        x = jnp.ones(2)
        one, _ = lax.scan(lambda c, w: (x * w, None), x, jnp.arange(1.0, 2.0))
        three, _ = lax.scan(lambda c, w: (x * w, None), x, jnp.arange(1.0, 4.0))
        return one, three
    """
)


def _project(tmp_path, **files):
    (tmp_path / "pyproject.toml").write_text(files.pop("pyproject", PYPROJECT))
    for name, text in files.items():
        (tmp_path / name.replace("__", "/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name.replace("__", "/")).write_text(text)


def test_a_fix_that_verifies_is_written_with_its_timings(tmp_path, run_cli):
    _project(tmp_path, **{"m.py": SURGERY})
    r = run_cli("--fix", "--verify", "--verify-entry", "m.py:run", "m.py")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verify: verified and written m.py (EQX005)" in r.stdout
    assert "compile before → after" in r.stdout and "m.py:run" in r.stdout
    assert "object.__setattr__" not in (tmp_path / "m.py").read_text()


def test_a_wrong_fix_is_held_back_naming_the_leaf(tmp_path, run_cli):
    _project(tmp_path, **{"m.py": SCAN_BUG})
    r = run_cli("--fix", "--unsafe-fixes", "--verify", "--verify-entry", "m.py:run", "m.py")
    assert r.returncode == 1
    assert "verify: held back m.py (EQX006): m.py:run returns a different result: <root>: max |Δ|" in r.stdout
    assert (tmp_path / "m.py").read_text() == SCAN_BUG
    assert "responsible fix: EQX006 at line 20" in r.stdout
    assert "m.py:20:9: EQX006" in r.stdout  # the original finding stands
    assert "Found 1 finding (1 held back by --verify)." in r.stdout


def test_the_responsible_fix_is_named_among_several(tmp_path, run_cli):
    _project(tmp_path, **{"m.py": TWO_SCANS})
    r = run_cli("--fix", "--unsafe-fixes", "--verify", "--verify-entry", "m.py:run", "m.py")
    assert r.returncode == 1
    assert "[1]: max |Δ|" in r.stdout  # the second returned value differs, not the first
    assert "responsible fix: EQX006 at line 8" in r.stdout
    assert (tmp_path / "m.py").read_text() == TWO_SCANS


def test_diff_verify_shows_only_what_verified(tmp_path, run_cli):
    _project(tmp_path, **{"good.py": SURGERY, "bad.py": SCAN_BUG})
    r = run_cli("--diff", "--unsafe-fixes", "--verify", "--verify-entry", "good.py:run", "--verify-entry", "bad.py:run", ".")
    assert "+++ b/good.py" in r.stdout and "bad.py" not in r.stdout
    assert "verify: verified good.py" in r.stderr and "verify: held back bad.py" in r.stderr
    assert (tmp_path / "good.py").read_text() == SURGERY


def test_an_entry_crashing_after_the_rewrite_holds_the_file_back(tmp_path, run_cli):
    # Code elsewhere indexes the layer list, which the scan rewrite stacks into one layer.
    uses = "from model import model\n\n\ndef first_layer():\n    return model().layers[0].weight\n"
    _project(tmp_path, **{"model.py": STACK, "uses.py": uses})
    r = run_cli("--fix", "--unsafe-fixes", "--verify", "--verify-entry", "uses.py:first_layer", "model.py")
    assert r.returncode == 1
    assert "verify: held back model.py (EQX001): uses.py:first_layer fails after the rewrite:" in r.stdout
    assert "Error" in r.stdout  # the traceback's last lines
    assert (tmp_path / "model.py").read_text() == STACK


def test_a_time_out_is_reported_and_verifies_nothing(tmp_path, run_cli):
    slow = SURGERY + "\n\ndef slow():\n    import time\n\n    time.sleep(60)\n"
    _project(tmp_path, **{"m.py": slow})
    r = run_cli("--fix", "--verify", "--verify-entry", "m.py:slow", "--verify-timeout", "5", "m.py")
    assert r.returncode == 1
    assert "verify: m.py:slow fails on the original code, so it verifies nothing:\n    timed out after 5 s" in r.stdout
    assert "verify: held back m.py (EQX005): no entry that runs on the original code imports it" in r.stdout
    assert (tmp_path / "m.py").read_text() == slow


def test_a_verify_cmd_that_fails_after_the_rewrite_holds_back(tmp_path, run_cli):
    # A test suite that loads a checkpoint saved in the old layout: the scan rewrite breaks it.
    save = "import equinox as eqx\nfrom model import model\n\neqx.tree_serialise_leaves('old.eqx', model())\n"
    load = "import equinox as eqx\nfrom model import model\n\neqx.tree_deserialise_leaves('old.eqx', model())\n"
    _project(tmp_path, **{"model.py": STACK, "save.py": save, "load_test.py": load})
    subprocess.run([sys.executable, "save.py"], cwd=tmp_path, check=True, timeout=120)
    cmd = f"{sys.executable} load_test.py"
    r = run_cli("--fix", "--unsafe-fixes", "--verify", "--verify-cmd", cmd, "model.py")
    assert r.returncode == 1
    assert "verify: held back model.py (EQX001): --verify-cmd fails after the rewrite:" in r.stdout
    assert (tmp_path / "model.py").read_text() == STACK
    passing = run_cli("--fix", "--verify", "--verify-cmd", cmd, "--select", "EQX005", "model.py")
    assert passing.returncode == 0  # nothing to fix there: the command is not even needed


def test_json_output_carries_the_verification(tmp_path, run_cli):
    _project(tmp_path, **{"m.py": SURGERY})
    r = run_cli("--diff", "--verify", "--verify-entry", "m.py:run", "--output-format", "json", "m.py")
    document = json.loads(r.stderr)
    assert document["findings"] == []
    (verdict,) = document["verification"]
    assert verdict["status"] == "verified" and verdict["rules"] == ["EQX005"]
    (check,) = verdict["checks"]
    assert check["entry"] == "m.py:run" and check["max_abs_diff"] == 0.0
    assert check["before"]["compile_s"] > 0 and check["after"]["steady_call_s"] > 0


def test_entries_come_from_the_config(tmp_path, run_cli):
    config = '[tool.eqx-rewrite.verify]\nentries = ["m.py:run"]\ntimeout = 120\n'
    _project(tmp_path, pyproject=config, **{"m.py": SURGERY})
    r = run_cli("--fix", "--verify", "m.py")
    assert r.returncode == 0 and "verify: verified and written m.py" in r.stdout


def test_bad_verify_settings_are_one_line_errors(tmp_path, run_cli):
    _project(tmp_path, pyproject='[tool.eqx-rewrite.verify]\ndevice = "abacus"\n', **{"m.py": SURGERY})
    r = run_cli("--fix", "--verify", "m.py")
    assert r.returncode == 2 and "pyproject.toml:2: `verify.device` must be cpu or gpu or tpu" in r.stderr
    _project(tmp_path, **{"m.py": SURGERY})
    for args, message in [
        (("--check", "--verify", "--verify-entry", "m.py:run"), "--verify needs --fix or --diff"),
        (("--fix", "--verify"), "--verify needs something to run"),
        (("--fix", "--verify", "--verify-entry", "m.py"), "must look like path/to/file.py:function"),
        (("--fix", "--verify", "--verify-entry", "nope.py:run"), "no such file nope.py"),
        (("--fix", "--verify-entry", "m.py:run"), "need --verify"),
    ]:
        r = run_cli(*args, "m.py")
        assert r.returncode == 2 and message in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    assert (tmp_path / "m.py").read_text() == SURGERY


def test_check_and_fix_never_import_user_code(tmp_path, run_cli):
    marker = tmp_path / "imported"
    _project(tmp_path, **{"m.py": f"open({str(marker)!r}, 'w').close()\n" + SURGERY})
    assert run_cli("--check", "m.py").returncode == 1
    assert run_cli("--fix", "m.py").returncode == 0
    assert not marker.exists()
    probe = "import sys, eqx_rewrite.cli; print(sorted(m for m in sys.modules if m.startswith('eqx_rewrite.verify')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_catalogue_verifies_itself(tmp_path, run_cli):
    """One fixable case per rule, each with its `run()` as entry: kept behaviour verifies, changed does not."""
    from catalogue import cases

    chosen = {}
    for case in cases():
        # One case for each rule whose fix keeps behaviour (EQX1xx repair code a current JAX cannot run).
        if case.fixes & {"safe", "unsafe"} and case.path.parent.name.startswith("EQX0") and case.path.parent.name not in chosen:
            chosen[case.path.parent.name] = case
    _project(tmp_path, **{f"{code.lower()}_{c.path.name}": c.path.read_text() for code, c in chosen.items()})
    entries = [a for code, c in chosen.items() for a in ("--verify-entry", f"{code.lower()}_{c.path.name}:run")]
    r = run_cli("--fix", "--unsafe-fixes", "--verify", *entries, "--output-format", "json", ".")
    verdicts = {v["filename"].split("_", 1)[0].upper(): v["status"] for v in json.loads(r.stdout)["verification"]}
    expected = {code: "verified" if c.behaviour == "kept" else "held back" for code, c in chosen.items()}
    assert verdicts == expected and len(expected) == 8


def test_a_tree_too_large_to_copy_is_a_one_line_error(tmp_path, run_cli):
    _project(tmp_path, **{"m.py": SURGERY})
    with open(tmp_path / "weights.bin", "wb") as handle:
        handle.truncate(3 * 1024**3)  # sparse: costs no disk, but copying it would
    r = run_cli("--fix", "--verify", "--verify-entry", "m.py:run", "m.py")
    assert r.returncode == 2 and "holds 3.0 GB" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (tmp_path / "m.py").read_text() == SURGERY


def test_an_entry_that_imports_no_changed_file_runs_only_once(tmp_path, run_cli):
    marker = tmp_path / "calls.log"
    unrelated = f"import jax.numpy as jnp\n\n\ndef run():\n    open({str(marker)!r}, 'a').write('call\\n')\n    return jnp.ones(2)\n"
    _project(tmp_path, **{"m.py": SURGERY, "unrelated.py": unrelated})
    r = run_cli("--fix", "--verify", "--verify-entry", "m.py:run", "--verify-entry", "unrelated.py:run", "m.py")
    assert r.returncode == 0 and "verify: verified and written m.py" in r.stdout
    assert marker.read_text().count("call") == 2  # the first and second call on the original side only


def test_a_notebook_is_held_back_unless_a_command_verifies_it(tmp_path, run_cli):
    from test_notebooks import TRAINING

    _project(tmp_path, **{"train.ipynb": TRAINING, "m.py": SURGERY})
    r = run_cli("--fix", "--verify", "--verify-entry", "m.py:run", ".")
    assert "verify: held back train.ipynb (EQX002): entries cannot import a notebook" in r.stdout
    assert (tmp_path / "train.ipynb").read_text() == TRAINING
    assert "verify: verified and written m.py" in r.stdout
    r = run_cli("--fix", "--verify", "--verify-cmd", f"{sys.executable} -c pass", "train.ipynb")
    assert "verify: verified and written train.ipynb (EQX002)" in r.stdout
    assert (tmp_path / "train.ipynb").read_text() != TRAINING


def test_one_fix_applied_alone_matches_the_engine_in_every_newline_style():
    # The responsible-fix search applies fixes one by one: each must read as the engine wrote it.
    from eqx_rewrite.engine import Settings, analyse, apply_located

    for newline in ("\n", "\r\n"):
        source = SCAN_BUG.replace("\n", newline)
        analysis = analyse(source, Settings(unsafe_fixes=True), fix=True)
        (finding,) = analysis.found
        assert apply_located(source, finding.edits) == analysis.fixed_source
