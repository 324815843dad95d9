"""The differential fix fuzzer, long run: generated variants of the catalogue's positive shapes
(tests/fuzz_programs.py), each executed under JAX before and after `--fix` and `--fix
--unsafe-fixes`. Every safe fix must give equal results; every unsafe fix must run and give equal
outputs; fixing twice must equal fixing once.

    python bench/fuzz_fixes.py --variants 5000 --jobs 2

CI runs the first 300 seeds (tests/test_fix_fuzz.py); this runs as many as asked, from `--start`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"


def _check(seed: int) -> tuple[int, str, int, int, str | None]:
    sys.path.insert(0, str(TESTS))
    from fuzz_programs import check, program

    with tempfile.TemporaryDirectory() as tmp:
        p = program(seed)
        try:
            outcome = check(p, Path(tmp))
        except Exception as exc:  # noqa: BLE001 - the generated original itself failed
            return seed, p.kind, 0, 0, f"the original program fails: {type(exc).__name__}: {exc}"
    return seed, p.kind, outcome.safe_fixes, outcome.unsafe_fixes, outcome.problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=5000)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    started = time.perf_counter()
    seeds = range(args.start, args.start + args.variants)
    counts: Counter = Counter()
    problems = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for seed, kind, safe, unsafe, problem in pool.map(_check, seeds, chunksize=10):
            counts[kind] += 1
            counts["safe fixes"] += safe
            counts["unsafe fixes"] += unsafe
            counts["variants with a safe fix"] += safe > 0
            counts["variants with an unsafe fix"] += unsafe > 0
            if problem:
                problems.append((seed, kind, problem))
    broken_safe = [p for p in problems if p[2].startswith("safe")]
    crashing_unsafe = [p for p in problems if p[2].startswith("unsafe")]
    print(f"variants: {args.variants} (seeds {seeds.start}..{seeds.stop - 1}; EQX002 {counts['EQX002']}, EQX001 {counts['EQX001']})")
    print(f"fixes applied: {counts['safe fixes']} safe in {counts['variants with a safe fix']} variants, "
          f"{counts['unsafe fixes']} unsafe in {counts['variants with an unsafe fix']} variants")
    print(f"broken safe fixes: {len(broken_safe)}; unsafe fixes that crash or change outputs: {len(crashing_unsafe)}; "
          f"other problems: {len(problems) - len(broken_safe) - len(crashing_unsafe)}")
    for seed, kind, problem in problems:
        print(f"  seed {seed} ({kind}): {problem}")
    print(f"time: {time.perf_counter() - started:.0f} s with {args.jobs} workers")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
