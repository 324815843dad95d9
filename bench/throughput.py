"""Throughput of `eqx-rewrite --check` on a real corpus, against ruff, Fixit and a read-only floor.

The corpus is the wheels of jax 0.10.2, flax 0.12.8, optax 0.2.8, numpyro 0.22.0, equinox 0.13.8,
lineax 0.1.1, optimistix 0.1.0, jaxtyping 0.3.11 and pandas 3.1.1, downloaded once with pip into
--corpus (diffrax, once part of it, is reserved for an independent measure of the rules). Each tool runs --repeats times (medians), all in this one run, so the
ratios compare like with like on a shared machine:

  - eqx-rewrite cold (empty cache) and warm (nothing changed since the last run);
  - ruff --select ALL, cold (--no-cache) and warm;
  - Fixit 2.2 with one trivial rule (NoRedundantFString);
  - the floor: reading every file and testing it for a substring, in one process.

    pip install -e '.[bench]' && python bench/throughput.py [--corpus DIR] [--repeats 3] [--skip Fixit]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

CORPUS = [
    "jax==0.10.2", "flax==0.12.8", "optax==0.2.8", "numpyro==0.22.0", "equinox==0.13.8",
    "lineax==0.1.1", "optimistix==0.1.0", "jaxtyping==0.3.11", "pandas==3.1.1",
]
BIN = Path(sys.executable).parent
TRIVIAL_RULE = "fixit.rules:NoRedundantFString"


def corpus(folder: Path) -> Path:
    source = folder / "src"
    if source.exists():
        return source
    wheels = folder / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheels), *CORPUS], check=True
    )
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.endswith(".py"):
                    archive.extract(name, source / wheel.name.split("-")[0])
    return source


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def read_floor(source: Path) -> float:
    start = time.perf_counter()
    for path in source.rglob("*.py"):
        "jax" in path.read_text(encoding="utf-8", errors="replace")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "eqx-rewrite-corpus")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", action="append", default=[], metavar="TOOL", help="leave out the runs naming TOOL (e.g. Fixit)")
    args = parser.parse_args()
    source = corpus(args.corpus)
    lines = sum(p.read_bytes().count(b"\n") for p in source.rglob("*.py"))
    work = args.corpus
    cache = work / ".eqx_rewrite_cache"

    def eqx_cold() -> float:
        shutil.rmtree(cache, ignore_errors=True)
        return timed([str(BIN / "eqx-rewrite"), "-q", "--exit-zero", "src"], work)

    runs = {
        "eqx-rewrite --check, cold": eqx_cold,
        "eqx-rewrite --check, warm": lambda: timed([str(BIN / "eqx-rewrite"), "-q", "--exit-zero", "src"], work),
        "ruff --select ALL, cold": lambda: timed(["ruff", "check", "--select", "ALL", "--no-cache", "--exit-zero", "-q", "src"], work),
        "ruff --select ALL, warm": lambda: timed(["ruff", "check", "--select", "ALL", "--exit-zero", "-q", "src"], work),
        "Fixit 2.2, one trivial rule": lambda: timed([str(BIN / "fixit"), "--rules", TRIVIAL_RULE, "lint", "src"], work),
        "read + substring test": lambda: read_floor(source),
    }
    runs = {name: run for name, run in runs.items() if not any(tool.lower() in name.lower() for tool in args.skip)}
    if shutil.which("ruff") is None or not (BIN / "fixit").exists():
        print("ruff or fixit is missing: pip install -e '.[bench]'", file=sys.stderr)
    timings: dict[str, list[float]] = {name: [] for name in runs}
    timed(["ruff", "check", "--select", "ALL", "--exit-zero", "-q", "src"], work)  # fill ruff's cache
    for _ in range(args.repeats):
        for name, run in runs.items():  # interleaved, so machine noise hits every tool alike
            timings[name].append(run())
    medians = {name: statistics.median(values) for name, values in timings.items()}
    cold = medians["eqx-rewrite --check, cold"]
    print(f"corpus: {lines:,} lines in {sum(1 for _ in source.rglob('*.py')):,} files; medians of {args.repeats}\n")
    print("| what | seconds | lines/s | time / eqx-rewrite cold |")
    print("|---|---|---|---|")
    for name, seconds in medians.items():
        ratio = f"{seconds / cold:.2f}" if name != "eqx-rewrite --check, cold" else "1"
        print(f"| {name} | {seconds:.2f} | {lines / seconds / 1e6:.3f} M | {ratio} |")


if __name__ == "__main__":
    main()
