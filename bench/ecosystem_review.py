"""Scores the ecosystem check's findings against the findings people reviewed by reading the code.

`bench/ecosystem/review/findings.tsv` holds every finding of the rules beyond the labelled manifest
(EQX007, EQX008, EQX101, EQX102), each read at its pinned commit and given a verdict: TP (right,
worth the user's attention), INTENDED (what the rule says happens, and the code means it: a target
network initialised equal to its model) or FP (what the rule says does not happen). The findings of
revision 011a087 were all reviewed; findings a later revision adds are reviewed and appended. Run on
a revision's `--json` findings, this says which reviewed findings remain, which went, and which
are new and still to be reviewed:

    python bench/ecosystem.py --mirror DIR --json /tmp/findings.json
    python bench/ecosystem_review.py bench/ecosystem/review/findings.tsv /tmp/findings.json
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path

VERDICTS = ("TP", "INTENDED", "FP")


def _key(code: str, repo: str, path: str, cell, row) -> tuple:
    return code, repo, path, str(cell or ""), int(row)


def load_review(path: Path) -> dict[tuple, str]:
    with path.open(newline="") as f:
        return {_key(r["code"], r["repo"], r["path"], r["cell"], r["row"]): r["verdict"] for r in csv.DictReader(f, delimiter="\t")}


def load_findings(path: Path, codes: set[str]) -> set[tuple]:
    runs = json.loads(path.read_text())
    return {
        _key(f["code"], tree.partition("@")[0], f["path"], f.get("cell"), f["row"])
        for tree, findings in runs.items()
        for f in findings
        if f["code"] in codes
    }


def score(review: dict[tuple, str], found: set[tuple]) -> list[str]:
    out = ["| rule | findings | reviewed TP / INTENDED / FP still found | FP gone | TP, INTENDED gone | not yet reviewed | FP share of reviewed findings |", "|---|---|---|---|---|---|---|"]
    for code in sorted({k[0] for k in review}):
        mine = {k: v for k, v in review.items() if k[0] == code}
        now = {k for k in found if k[0] == code}
        kept = Counter(v for k, v in mine.items() if k in now)
        gone = Counter(v for k, v in mine.items() if k not in now)
        reviewed = sum(kept.values())
        share = f"{100 * kept['FP'] / reviewed:.1f}%" if reviewed else "-"
        out.append(
            f"| {code} | {len(now)} | {' / '.join(str(kept[v]) for v in VERDICTS)} | {gone['FP']} | "
            f"{gone['TP'] + gone['INTENDED']} | {len(now - mine.keys())} | {share} |"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("review", type=Path)
    parser.add_argument("findings", type=Path, help="bench/ecosystem.py --json output")
    args = parser.parse_args()
    review = load_review(args.review)
    print("\n".join(score(review, load_findings(args.findings, {k[0] for k in review}))))


if __name__ == "__main__":
    main()
