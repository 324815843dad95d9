"""Output formats carry the same facts: JSON per DESIGN.md, GitHub annotations (SARIF: test_sarif.py)."""

import json
import re

import jsonschema
import pytest

from catalogue import RULES_DIR

FINDING_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "name", "message", "filename", "location", "end_location", "fix", "url"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "pattern": "^EQX[0-9]{3}$"},
            "name": {"type": "string"},
            "message": {"type": "string"},
            "filename": {"type": "string"},
            "location": {"$ref": "#/$defs/pos"},
            "end_location": {"$ref": "#/$defs/pos"},
            "url": {"type": "string"},
            "cell": {"type": "integer", "minimum": 1},
            "fix": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["applicability", "message", "edits"],
                        "properties": {
                            "applicability": {"enum": ["safe", "unsafe"]},
                            "message": {"type": "string"},
                            "edits": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["content", "location", "end_location"],
                                    "properties": {
                                        "content": {"type": "string"},
                                        "location": {"$ref": "#/$defs/pos"},
                                        "end_location": {"$ref": "#/$defs/pos"},
                                    },
                                },
                            },
                        },
                    },
                ]
            },
        },
    },
    "$defs": {
        "pos": {
            "type": "object",
            "required": ["row", "column"],
            "properties": {"row": {"type": "integer", "minimum": 1}, "column": {"type": "integer", "minimum": 1}},
        }
    },
}

@pytest.fixture
def project(tmp_path):
    for rule in ("EQX005", "EQX006"):
        for case in (RULES_DIR / rule).glob("*.py"):
            if not case.name.endswith(".expected.py"):
                (tmp_path / f"{rule}_{case.name}").write_text(case.read_text())
    return tmp_path


def test_json_shape(project, run_cli):
    r = run_cli("--output-format", "json", ".")
    data = json.loads(r.stdout)
    jsonschema.validate(data, FINDING_SCHEMA)
    assert {d["fix"]["applicability"] for d in data if d["fix"]} == {"safe", "unsafe"}
    assert any(d["fix"] is None for d in data)


def test_github(project, run_cli):
    lines = run_cli("--output-format", "github", ".").stdout.splitlines()
    assert lines
    for line in lines:
        assert re.match(r"^::error file=[^,]+,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,title=EQX\d{3} [a-z-]+::EQX\d{3} ", line)


def test_concise_is_one_line_per_finding(project, run_cli):
    r = run_cli("--output-format", "concise", "-q", ".")
    assert len(r.stdout.splitlines()) == len(json.loads(run_cli("--output-format", "json", ".").stdout))
