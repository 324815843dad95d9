"""The rule catalogue (`rules/`): reading a case's header, loading and running its `run()`."""

from __future__ import annotations

import importlib.util
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


@dataclass
class Case:
    path: Path
    expect: list[str]
    fix: str | None
    behaviour: str | None

    @property
    def fixes(self) -> set[str]:
        """The safeties of the findings' fixes (`none`: reported without one); a case whose codes
        differ in safety lists them all: `# fix: safe, none`."""
        return {f.strip() for f in (self.fix or "").split(",")}

    @property
    def expected_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".expected.py")

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"


def header(text: str, key: str) -> str | None:
    match = re.search(rf"^# {key}: (.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def cases() -> list[Case]:
    found = []
    for path in sorted(RULES_DIR.glob("EQX*/*.py")):
        if path.name.endswith(".expected.py"):
            continue
        text = path.read_text()
        expect = header(text, "expect")
        found.append(
            Case(
                path,
                [] if expect == "none" else [c.strip() for c in expect.split(",")],
                header(text, "fix"),
                header(text, "behaviour"),
            )
        )
    return found


def load(path: Path, source: str | None = None, workdir: Path | None = None):
    """Import a case, or `source` written to `workdir` in its place, as a fresh module."""
    name = f"case_{uuid.uuid4().hex}"
    if source is not None:
        path = workdir / f"{name}.py"
        path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def leaves(tree):
    import jax
    import numpy as np

    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree) if hasattr(x, "shape")]


def assert_same(a, b, rtol=1e-5, atol=1e-6):
    import numpy as np

    la, lb = leaves(a), leaves(b)
    assert len(la) == len(lb), f"{len(la)} leaves vs {len(lb)}"
    for i, (x, y) in enumerate(zip(la, lb)):
        assert x.shape == y.shape and x.dtype == y.dtype, f"leaf {i}: {x.shape}/{x.dtype} vs {y.shape}/{y.dtype}"
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"leaf {i}")
