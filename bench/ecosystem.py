"""The ecosystem check: eqx-rewrite on whole real repositories, scored against a labelled manifest.

    python bench/ecosystem.py --mirror /work/.mirror            # score this checkout
    python bench/ecosystem.py --mirror /work/.mirror --compare HEAD~3   # what changed since a revision

Each (repository, commit) of `bench/ecosystem/manifest.tsv` is unpacked from a bare git mirror
(`--mirror DIR` holds `OWNER+NAME/repo`) or, for `pypi:NAME==VERSION` rows, from `pip download`.
The tool runs on the whole tree, as a user runs it, so cross-file knowledge counts. Reported per
rule: recall over the labelled rows, `fix` rows that got a fix, false positives on `none` rows,
findings no row labels (listed for review), crashes, and from `--fix --unsafe-fixes` on a copy:
fixes that do not parse and fixes that are not idempotent. With `--compare REV` the same corpus is
checked by another revision of the tool (a git worktree) and the findings that appear, disappear or
change their fix are listed, as ruff's ecosystem check does.

It is a benchmark, not a test: CI has no network and no mirrors.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
MANIFEST = HERE / "ecosystem" / "manifest.tsv"
COLUMNS = ["code", "repo", "commit", "path", "start_line", "end_line", "expect", "note"]
CODES = ["EQX001", "EQX002", "EQX003", "EQX004"]


@dataclass(frozen=True)
class Place:
    """A line, or a line of a notebook cell (`cell N:L`), or a whole cell (`cell N`)."""

    cell: int | None
    line: int | None

    @classmethod
    def parse(cls, text: str) -> Place:
        text = text.strip()
        if text.startswith("cell "):
            cell, _, line = text[5:].partition(":")
            return cls(int(cell), int(line) if line else None)
        return cls(None, int(text))


@dataclass
class Row:
    code: str
    repo: str
    commit: str
    path: str
    start: Place
    end: Place
    expect: str
    note: str

    def covers(self, finding: dict) -> bool:
        if finding["path"] != self.path:
            return False
        position = (finding.get("cell"), finding["row"])
        return _key(self.start, low=True) <= position <= _key(self.end, low=False)


def _key(place: Place, low: bool) -> tuple:
    line = place.line if place.line is not None else (0 if low else 10**9)
    return (place.cell, line)


def read_manifest(path: Path) -> list[Row]:
    rows = []
    with path.open(newline="") as handle:
        for record in csv.DictReader(handle, delimiter="\t"):
            if list(record) != COLUMNS:
                raise SystemExit(f"{path}: the columns must be {' '.join(COLUMNS)}")
            rows.append(
                Row(
                    record["code"],
                    record["repo"],
                    record["commit"],
                    record["path"],
                    Place.parse(record["start_line"]),
                    Place.parse(record["end_line"]),
                    record["expect"],
                    record["note"],
                )
            )
    return rows


def validate(rows: list[Row], reserved: Path | None) -> list[str]:
    """Rows that break the manifest's rules: unknown codes or expectations, a commit that is not a
    full hash, a backwards range, a repository reserved for the independent measure."""
    banned = set()
    if reserved is not None and reserved.exists():
        banned = {line.strip() for line in reserved.read_text().splitlines() if line.strip() and not line.startswith("#")}
    problems = []
    for i, row in enumerate(rows, start=2):
        where = f"{row.repo} {row.path} (line {i} of the manifest)"
        if row.code not in (*CODES, "none"):
            problems.append(f"{where}: unknown code {row.code}")
        if row.expect not in (("silent",) if row.code == "none" else ("fix", "report")):
            problems.append(f"{where}: `{row.expect}` is not an expectation for {row.code}")
        if not row.repo.startswith("pypi:") and not (len(row.commit) == 40 and all(c in "0123456789abcdef" for c in row.commit)):
            problems.append(f"{where}: the commit must be a full 40-hex hash")
        if _key(row.start, low=True) > _key(row.end, low=False):
            problems.append(f"{where}: the range ends before it starts")
        if row.repo in banned or row.repo.lower() in {b.lower() for b in banned}:
            problems.append(f"{where}: {row.repo} is reserved for the independent measure")
        if not row.note.strip():
            problems.append(f"{where}: no note")
    return problems


# --- sources -------------------------------------------------------------------------------------


def unpack(repo: str, commit: str, mirror: Path | None, into: Path) -> Path:
    """The repository's tree at `commit` (or the release's files), unpacked once under `into`."""
    slug = repo.replace("/", "+").replace(":", "_").replace("==", "-")
    root = into / f"{slug}@{commit[:12]}"
    if root.exists():
        return root
    staging = Path(tempfile.mkdtemp(dir=into))
    if repo.startswith("pypi:"):
        _unpack_release(repo[5:], staging)
    else:
        _export(_mirror_of(repo, mirror), commit, staging)
    staging.rename(root)
    return root


# What the tool reads: sources, notebooks and configuration. Snapshots may lack large files (data,
# weights), so the tree is exported blob by blob rather than with `git archive`.
EXPORTED = (".py", ".pyi", ".ipynb", "pyproject.toml", ".gitignore")


def _export(git_dir: Path, commit: str, into: Path) -> None:
    listing = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", commit], check=True, capture_output=True).stdout
    wanted = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        mode, kind, sha = meta.split()
        path = name.decode("utf-8", "surrogateescape")
        if kind == b"blob" and mode != b"120000" and path.endswith(EXPORTED):
            wanted.append((sha.decode(), path))
    batch = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
        input="".join(f"{sha}\n" for sha, _ in wanted).encode(),
        check=True,
        capture_output=True,
    ).stdout
    cursor = 0
    for _, path in wanted:
        header_end = batch.index(b"\n", cursor)
        header = batch[cursor:header_end].split()
        cursor = header_end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(batch[cursor : cursor + size])
        cursor += size + 1


def _mirror_of(repo: str, mirror: Path | None) -> Path:
    if mirror is not None:
        git_dir = mirror / repo.replace("/", "+") / "repo"
        if git_dir.exists():
            return git_dir
    clone = Path(tempfile.gettempdir()) / "eqx-eco-clones" / repo.replace("/", "+")
    if not clone.exists():
        subprocess.run(["git", "clone", "--bare", "--quiet", f"https://github.com/{repo}", str(clone)], check=True)
    return clone


def _unpack_release(spec: str, into: Path) -> None:
    download = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(download), spec], check=True)
    archive = next(download.iterdir())
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(into)
    else:
        with tarfile.open(archive) as t:
            t.extractall(into, filter="data")
        tops = list(into.iterdir())
        if len(tops) == 1 and tops[0].is_dir():  # an sdist's NAME-VERSION/ folder
            for child in tops[0].iterdir():
                child.rename(into / child.name)
            tops[0].rmdir()
    shutil.rmtree(download)


# --- running the tool -------------------------------------------------------------------------


@dataclass
class Run:
    findings: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # internal errors: crashes of ours
    seconds: float = 0.0


def run_tool(source: Path, root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(source)}
    command = [sys.executable, "-m", "eqx_rewrite", "--no-cache", "--exit-zero", "-q", *args, "."]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)


def check(source: Path, root: Path) -> Run:
    started = time.perf_counter()
    done = run_tool(source, root, "--output-format", "json", "--config", str(_empty_config(root)))
    run = Run(seconds=time.perf_counter() - started)
    run.errors = [line for line in done.stderr.splitlines() if "internal error" in line or "Traceback" in line]
    for item in json.loads(done.stdout or "[]"):
        run.findings.append(
            {
                "path": Path(item["filename"]).as_posix().removeprefix("./"),
                "code": item["code"],
                "row": item["location"]["row"],
                "cell": item.get("cell"),
                "message": item["message"],
                "fix": None if item["fix"] is None else item["fix"]["applicability"],
                "fix_hash": None if item["fix"] is None else _digest(item["fix"]["edits"]),
            }
        )
    return run


def _digest(value) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True).encode()).hexdigest()[:10]


def _empty_config(root: Path) -> Path:
    """The repositories' own settings (if any) are not ours to apply: every rule, defaults. It lies
    in the tree, because the configuration's folder is the project the tool indexes."""
    path = root / ".eqx-rewrite-ecosystem.toml"
    path.write_text("[tool.eqx-rewrite]\n")
    return path


@dataclass
class FixCheck:
    fixes: Counter = field(default_factory=Counter)  # per rule
    changed_files: int = 0
    broken: list[str] = field(default_factory=list)
    not_idempotent: list[str] = field(default_factory=list)


def fix_check(source: Path, root: Path, before: Run) -> FixCheck:
    """`--fix --unsafe-fixes` on a copy: every changed file must parse, and fixing again changes nothing."""
    result = FixCheck()
    if not any(f["fix"] for f in before.findings):
        return result  # nothing to apply: the tree cannot change
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tree"
        shutil.copytree(root, copy, symlinks=True)
        config = str(_empty_config(copy))
        run_tool(source, copy, "--fix", "--unsafe-fixes", "--config", config)
        after = check(source, copy)
        remaining = Counter((f["code"]) for f in after.findings if f["fix"])
        for code, count in Counter(f["code"] for f in before.findings if f["fix"]).items():
            result.fixes[code] = count - remaining.get(code, 0)
        changed = _changed_files(root, copy)
        result.changed_files = len(changed)
        for path in changed:
            if not _parses(copy / path):
                result.broken.append(path)
        snapshot = Path(tmp) / "once"
        shutil.copytree(copy, snapshot, symlinks=True)
        run_tool(source, copy, "--fix", "--unsafe-fixes", "--config", config)
        result.not_idempotent = _changed_files(snapshot, copy)
    return result


def _changed_files(a: Path, b: Path) -> list[str]:
    changed = []
    for path in b.rglob("*"):
        if path.suffix in (".py", ".ipynb") and path.is_file():
            relative = path.relative_to(b)
            original = a / relative
            if not original.exists() or not filecmp.cmp(original, path, shallow=False):
                changed.append(relative.as_posix())
    return changed


def _parses(path: Path) -> bool:
    import libcst

    sys.path.insert(0, str(PROJECT))
    from eqx_rewrite import notebooks

    text = path.read_text(encoding="utf-8")
    try:
        # A notebook's code cells, magics held by placeholders, as the tool itself parses them.
        libcst.parse_module(notebooks.load(text).module if path.suffix == ".ipynb" else text)
    except (libcst.ParserSyntaxError, notebooks.NotebookError):
        return False
    return True


def filters_check(root: Path) -> list[str]:
    """Every file of the tree analysed with the pre-filters and without them, with the tree's own
    cross-file index: the filters may only ever skip files where nothing can be found."""
    sys.path.insert(0, str(PROJECT))
    from dataclasses import replace

    from eqx_rewrite import notebooks
    from eqx_rewrite.engine import ParseError, Settings, analyse
    from eqx_rewrite.project import jitted_functions, module_class_names

    files = [p for p in sorted(root.rglob("*")) if p.suffix in (".py", ".ipynb") and p.is_file()]
    texts = [(p, p.read_text(encoding="utf-8", errors="replace")) for p in files]
    settings = replace(
        Settings(unsafe_fixes=True),
        project_module_classes=module_class_names(t for _, t in texts),
        project_jitted=jitted_functions(texts),
    )
    differences = []
    for path, text in texts:
        try:
            source = notebooks.load(text).module if path.suffix == ".ipynb" else text
            with_filters = [(d.code, d.location.row) for d in analyse(source, settings).diagnostics]
            without = [(d.code, d.location.row) for d in analyse(source, settings, use_filters=False).diagnostics]
        except (ParseError, notebooks.NotebookError):
            continue
        if with_filters != without:
            differences.append(f"{path.relative_to(root)}: filtered {with_filters} != unfiltered {without}")
    return differences


# --- scoring ---------------------------------------------------------------------------------


@dataclass
class Score:
    rows: int = 0
    found: int = 0
    fix_rows: int = 0
    fixed: int = 0
    report_rows_fixed: int = 0
    false_positives: int = 0  # on `none` rows, by the rule reported
    unlabelled: int = 0


def score(rows: list[Row], runs: dict[tuple[str, str], Run]) -> tuple[dict[str, Score], list[str], list[dict]]:
    scores = {code: Score() for code in CODES}
    misses: list[str] = []
    labelled: set[int] = set()
    for row in rows:
        findings = runs[(row.repo, row.commit)].findings
        inside = [f for f in findings if row.covers(f)]
        if row.code == "none":
            for f in inside:
                if f["code"] in scores:
                    scores[f["code"]].false_positives += 1
                    misses.append(f"false positive {f['code']} {row.repo} {row.path}:{_where(f)}: {row.note}")
                labelled.add(id(f))
            continue
        matching = [f for f in inside if f["code"] == row.code]
        labelled.update(id(f) for f in matching)
        s = scores[row.code]
        s.rows += 1
        s.fix_rows += row.expect == "fix"
        if not matching:
            misses.append(f"missed {row.code} {row.repo} {row.path}:{_format(row)}: {row.note}")
            continue
        s.found += 1
        has_fix = any(f["fix"] for f in matching)
        if row.expect == "fix" and has_fix:
            s.fixed += 1
        elif row.expect == "fix":
            misses.append(f"no fix {row.code} {row.repo} {row.path}:{_format(row)}: {matching[0]['message'].rpartition('no fix: ')[2]}")
        elif row.expect == "report" and has_fix:
            s.report_rows_fixed += 1
            misses.append(f"fixed a report-only row {row.code} {row.repo} {row.path}:{_format(row)}: {row.note}")
    unlabelled = []
    for (repo, commit), run in runs.items():
        for f in run.findings:
            if id(f) not in labelled and f["code"] in scores:
                scores[f["code"]].unlabelled += 1
                unlabelled.append({**f, "repo": repo})
    return scores, misses, unlabelled


def _where(f: dict) -> str:
    return f"cell {f['cell']}:{f['row']}" if f.get("cell") else str(f["row"])


def _format(row: Row) -> str:
    def one(p: Place) -> str:
        return f"cell {p.cell}" + (f":{p.line}" if p.line else "") if p.cell else str(p.line)

    return one(row.start) + "-" + one(row.end)


def _percent(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "-"


def report(rows, scores, runs, fixes: dict[str, FixCheck] | None, misses, unlabelled) -> str:
    repos = {r.repo for r in rows}
    none_rows = Counter(r.repo for r in rows if r.code == "none")
    total_none = sum(none_rows.values())
    out = [f"{len(rows)} rows from {len(repos)} repositories and releases ({total_none} `none` rows)", ""]
    out.append("| rule | rows | found (recall) | `fix` rows fixed | false positives on `none` rows | unlabelled findings | fixes made by --fix --unsafe-fixes |")
    out.append("|---|---|---|---|---|---|---|")
    for code, s in scores.items():
        made = sum(f.fixes.get(code, 0) for f in fixes.values()) if fixes is not None else "-"
        out.append(
            f"| {code} | {s.rows} | {_percent(s.found, s.rows)} | {_percent(s.fixed, s.fix_rows)} | "
            f"{s.false_positives} of {total_none} | {s.unlabelled} | {made} |"
        )
    crashes = sum(len(r.errors) for r in runs.values())
    seconds = sum(r.seconds for r in runs.values())
    out.append("")
    out.append(f"crashes (internal errors): {crashes}; time: {seconds:.1f} s for {len(runs)} trees")
    if fixes is not None:
        broken = sum(len(f.broken) for f in fixes.values())
        idem = sum(len(f.not_idempotent) for f in fixes.values())
        changed = sum(f.changed_files for f in fixes.values())
        out.append(f"--fix --unsafe-fixes: {changed} files changed, {broken} do not parse, {idem} not idempotent")
        for key, f in fixes.items():
            out += [f"  broken: {key[0]} {p}" for p in f.broken] + [f"  not idempotent: {key[0]} {p}" for p in f.not_idempotent]
    for run in runs.values():
        out += [f"  crash: {e}" for e in run.errors]
    out += ["", "## Misses and wrong answers"] + [f"- {m}" for m in misses]
    out += ["", "## Unlabelled findings (review)"]
    out += [f"- {u['code']} {u['repo']} {u['path']}:{_where(u)}{' [fix]' if u['fix'] else ''}: {u['message'][:140]}" for u in unlabelled]
    return "\n".join(out) + "\n"


# --- comparing two revisions ----------------------------------------------------------------------


def worktree(rev: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="eqx-rewrite-")) / "tree"
    subprocess.run(["git", "-C", str(PROJECT), "worktree", "add", "--detach", "--quiet", str(path), rev], check=True)
    return path


def compare(old: dict, new: dict) -> str:
    def keyed(runs):
        return {(repo, f["path"], f["code"], f.get("cell"), f["row"]): f for (repo, _), run in runs.items() for f in run.findings}

    before, after = keyed(old), keyed(new)
    lines = ["## Compared with the baseline revision"]
    for key in sorted(after.keys() - before.keys()):
        lines.append(f"+ new {key[2]} {key[0]} {key[1]}:{key[4]}: {after[key]['message'][:120]}")
    for key in sorted(before.keys() - after.keys()):
        lines.append(f"- lost {key[2]} {key[0]} {key[1]}:{key[4]}: {before[key]['message'][:120]}")
    for key in sorted(before.keys() & after.keys()):
        a, b = before[key], after[key]
        if (a["fix"], a["fix_hash"]) != (b["fix"], b["fix_hash"]):
            lines.append(f"~ fix changed {key[2]} {key[0]} {key[1]}:{key[4]}: {a['fix']} -> {b['fix']}")
    if len(lines) == 1:
        lines.append("no change")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--mirror", type=Path, help="folder of OWNER+NAME/repo bare git mirrors")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "eqx-eco-trees")
    parser.add_argument("--compare", metavar="REV", help="also run this revision of the tool and list what changed")
    parser.add_argument("--no-fix-check", action="store_true", help="skip the --fix --unsafe-fixes pass")
    parser.add_argument("--json", type=Path, help="write the findings of every tree here")
    parser.add_argument("--filters-check", action="store_true", help="also compare the pre-filters on and off on every file")
    parser.add_argument("--reserved", type=Path, default=PROJECT.parent / "shared" / "ecosystem" / "reserved.txt")
    args = parser.parse_args()
    rows = read_manifest(args.manifest)
    problems = validate(rows, args.reserved)
    if problems:
        raise SystemExit("the manifest breaks its rules:\n" + "\n".join(problems))
    args.workdir.mkdir(parents=True, exist_ok=True)
    trees = {(r.repo, r.commit): None for r in rows}
    runs, fixes = {}, {} if not args.no_fix_check else None
    for key in trees:
        root = unpack(*key, args.mirror, args.workdir)
        runs[key] = check(PROJECT, root)
        if fixes is not None:
            fixes[key] = fix_check(PROJECT, root, runs[key])
        print(f"{key[0]}: {len(runs[key].findings)} findings in {runs[key].seconds:.1f} s", file=sys.stderr)
    scores, misses, unlabelled = score(rows, runs)
    sys.stdout.write(report(rows, scores, runs, fixes, misses, unlabelled))
    if args.filters_check:
        differences = [d for key in trees for d in filters_check(unpack(*key, args.mirror, args.workdir))]
        sys.stdout.write(f"\nfilters on = filters off: {'yes' if not differences else 'no'} ({len(differences)} files differ)\n")
        sys.stdout.write("".join(f"  {d}\n" for d in differences))
    if args.compare:
        baseline = worktree(args.compare)
        old = {key: check(baseline, unpack(*key, args.mirror, args.workdir)) for key in trees}
        old_scores, _, old_unlabelled = score(rows, old)
        sys.stdout.write(f"\n## The baseline revision {args.compare} on the same manifest\n\n")
        sys.stdout.write(report(rows, old_scores, old, None, [], old_unlabelled).split("\n## Misses")[0])
        sys.stdout.write("\n" + compare(old, runs))
    if args.json:
        args.json.write_text(json.dumps({f"{k[0]}@{k[1]}": r.findings for k, r in runs.items()}, indent=1))


if __name__ == "__main__":
    main()
