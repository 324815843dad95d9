"""--verify: run the user's entries before and after the fixes, in temporary copies, and compare.

The only part of eqx-rewrite that executes user code; `--check` and plain `--fix` never import it.
"""

from .harness import Entry, Verification, VerifyError, VerifySpec, parse_entry, verify
from .table import as_json, render_text

__all__ = ["Entry", "Verification", "VerifyError", "VerifySpec", "as_json", "parse_entry", "render_text", "verify"]
