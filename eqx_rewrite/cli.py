"""Flags -> config -> runner -> report -> exit code. The only module that knows click."""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import click

from . import __version__
from .cache import Cache
from .config import DEVICES, TARGET_VERSIONS, Config, ConfigError, check_codes, find_config, load_config
from .engine import Settings
from .files import FileError, decode, discover, write_new_atomic
from .report import FORMATS, STATISTICS_FORMATS, Located, fix_list, fixable, render, render_json_document, statistics, summary
from .rule import all_rules, explanation
from .runner import FileResult, Job, add_noqa_comments, analyse_text, hold_back, run, write_fixes

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Failure(click.ClickException):
    """A usage or configuration error: one line on stderr, exit 2."""

    exit_code = EXIT_ERROR


def _codes(values: tuple[str, ...]) -> list[str]:
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


@dataclass(frozen=True)
class Output:
    """Where and how the report goes."""

    format: str
    exit_zero: bool
    quiet: bool
    show_fixes: bool
    statistics: bool
    file: Path | None
    color: str  # auto, always or never
    unsafe_fixes: bool


MODES = ("check", "diff", "fix", "add-noqa")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Report findings (the default).")
@click.option("--diff", is_flag=True, help="Show the fixes as a unified diff; write nothing.")
@click.option("--fix", is_flag=True, help="Apply fixes in place.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` comments to every line with a finding.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply fixes that may change behaviour or a pytree layout.")
@click.option("--select", multiple=True, help="Rule codes, prefixes or ALL to enable, instead of the configured ones (comma-separated).")
@click.option("--extend-select", multiple=True, help="Rule codes, prefixes or ALL to enable besides the selected ones (comma-separated).")
@click.option("--ignore", multiple=True, help="Rule codes, prefixes or ALL to disable (comma-separated).")
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--target-version", type=click.Choice(TARGET_VERSIONS), help="The oldest Python the code runs on: generated code is formatted for it (config: target-version; default: [project] requires-python, else the newest).")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to this file instead of stdout.")
@click.option("--show-fixes", is_flag=True, help="List the fixes made (with --fix), or that --fix would make, per file and code.")
@click.option("--statistics", is_flag=True, help="Count the findings per rule instead of listing them.")
@click.option("--color", type=click.Choice(("auto", "always", "never")), default="auto", show_default=True, help="Colour text output (auto: on a terminal, unless NO_COLOR is set).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain (errors still exit 2).")
@click.option("--stdin-filename", type=click.Path(path_type=Path), help="Read source from stdin, named this; with --fix, print the fixed source. The path `-` reads stdin too.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="pyproject.toml to use instead of searching.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: the CPUs available).")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary or progress.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the findings cache.")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Skip files that .gitignore, .ignore or .git/info/exclude ignore (the default; config: respect-gitignore).")
@click.option("--doc-blocks/--no-doc-blocks", default=None, help="Also check the Python code blocks of .md and .rst pages found in folders (config: doc-blocks); a page named on the command line always is.")
@click.option("--force-exclude", is_flag=True, help="Apply exclude and extend-exclude to files named on the command line too (for pre-commit).")
@click.option("--verify", is_flag=True, help="With --fix or --diff: run entries before and after the fixes; keep only fixes whose results match.")
@click.option("--verify-entry", "verify_entries", multiple=True, metavar="FILE:FUNC", help="A zero-argument function returning a pytree (repeatable).")
@click.option("--verify-cmd", metavar="CMD", help="A command that must still succeed after the fixes when it succeeds before.")
@click.option("--verify-timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds each run may take (default 300).")
@click.option("--device", type=click.Choice(DEVICES), help="JAX platform for --verify (default: JAX's default device).")
@click.option("--rtol", type=click.FloatRange(min=0), help="Relative tolerance for --verify (default 1e-5 for float32).")
@click.option("--atol", type=click.FloatRange(min=0), help="Absolute tolerance for --verify (default 1e-6 for float32).")
@click.option("--list-rules", is_flag=True, help="List the rules and exit.")
@click.option("--explain", metavar="CODE", help="Print a rule's documentation and exit.")
@click.version_option(__version__, "--version", prog_name="eqx-rewrite")
def cli(paths, check, diff, fix, add_noqa, unsafe_fixes, select, extend_select, ignore, output_format, target_version, output_file, show_fixes, statistics,
        color, exit_zero, stdin_filename, config_path, jobs, quiet, no_cache, respect_gitignore, doc_blocks, force_exclude,
        verify, verify_entries, verify_cmd, verify_timeout, device, rtol, atol, list_rules, explain):
    """Find slow or wrong JAX/Equinox patterns and rewrite them, keeping behaviour.

    Exit codes: 0 nothing left to report; 1 findings (or diffs) remain; 2 usage error, unreadable or
    unparsable input, or internal error. `eqx-rewrite clean` removes the findings cache.
    """
    if list_rules:
        _list_rules()
        return
    if explain:
        _explain(explain)
        return
    mode = _mode(check=check, diff=diff, fix=fix, add_noqa=add_noqa)
    paths, stdin_filename = _stdin_path(paths, stdin_filename)
    if statistics and output_format not in STATISTICS_FORMATS:
        raise click.UsageError(f"--statistics needs --output-format {', '.join(STATISTICS_FORMATS)}")
    try:
        start = _config_start(paths, stdin_filename)
        config = load_config(config_path or find_config(start), start)
        settings = _settings(config, select, extend_select, ignore, unsafe_fixes, target_version)
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    if respect_gitignore is not None:
        config.respect_gitignore = respect_gitignore
    if doc_blocks is not None:
        config.doc_blocks = doc_blocks
    output = Output(output_format, exit_zero, quiet, show_fixes, statistics, output_file, color, settings.unsafe_fixes)
    job = Job(settings, mode in ("diff", "fix"), config.root, tuple((p, tuple(c)) for p, c in config.per_file_ignores.items()))
    verify_options = dict(entries=verify_entries, cmd=verify_cmd, timeout=verify_timeout, device=device, rtol=rtol, atol=atol)
    if not verify and any(v for v in verify_options.values()):
        raise Failure("--verify-entry, --verify-cmd, --verify-timeout, --device, --rtol and --atol need --verify")
    if verify and (mode in ("check", "add-noqa") or stdin_filename is not None):
        raise Failure("--verify needs --fix or --diff on files")
    if stdin_filename is not None:
        if mode == "add-noqa":
            raise click.UsageError("--add-noqa needs files, not stdin")
        sys.exit(_run_stdin(stdin_filename, job, mode, output))
    spec = _verify_spec(config, settings, verify_options) if verify else None
    cache = None if no_cache else Cache(config.root)
    if mode == "add-noqa":
        sys.exit(_run_add_noqa(config, paths, job, jobs, cache, force_exclude))
    sys.exit(_run_paths(config, paths, job, mode, output, jobs, cache, spec, force_exclude))


def _mode(**flags: bool) -> str:
    """One of MODES; naming two is a usage error, as the last one silently winning would be a surprise
    (`--check --fix` writing files)."""
    given = [name.replace("_", "-") for name, on in flags.items() if on]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join('--' + g for g in given)} cannot be used together")
    return given[0] if given else "check"


def _stdin_path(paths: tuple[Path, ...], stdin_filename: Path | None) -> tuple[tuple[Path, ...], Path | None]:
    """The path `-` is stdin, as for ruff and black: named by --stdin-filename, else `-`."""
    if Path("-") not in paths:
        return paths, stdin_filename
    if len(paths) > 1:
        raise click.UsageError("`-` (stdin) cannot be combined with other paths")
    return (), stdin_filename or Path("-")


def _config_start(paths: tuple[Path, ...], stdin_filename: Path | None) -> Path:
    if stdin_filename is not None and stdin_filename != Path("-"):
        return stdin_filename.absolute()
    return paths[0].absolute() if paths else Path.cwd()


def _settings(config: Config, select, extend_select, ignore, unsafe_fixes, target_version=None) -> Settings:
    selected, extended, ignored = _codes(select), _codes(extend_select), _codes(ignore)
    check_codes(selected, "--select")
    check_codes(extended, "--extend-select")
    check_codes(ignored, "--ignore")
    return config.settings(selected, extended, ignored, unsafe_fixes, target_version)


def _verify_spec(config: Config, settings: Settings, flags: dict):
    # Imported here: --check and plain --fix never need the verifier (nor numpy), and must stay fast.
    from .verify import VerifyError, VerifySpec, parse_entry

    table = config.verify
    # Flags name files from the working folder; the config, from its own folder. Flags win.
    given = [(e, Path.cwd()) for e in flags["entries"]] or [(e, config.root) for e in table.get("entries", [])]
    try:
        entries = [parse_entry(entry, config.root, base) for entry, base in given]
    except VerifyError as exc:
        raise Failure(str(exc)) from None
    return VerifySpec(
        root=config.root,
        entries=tuple(entries),
        command=flags["cmd"] or table.get("cmd"),
        timeout=flags["timeout"] or table.get("timeout", 300.0),
        device=flags["device"] or table.get("device"),
        rtol=flags["rtol"] if flags["rtol"] is not None else table.get("rtol"),
        atol=flags["atol"] if flags["atol"] is not None else table.get("atol"),
        unsafe_fixes=settings.unsafe_fixes,
    )


def _list_rules() -> None:
    for rule in all_rules():
        click.echo(f"{rule.code}  {rule.name:<24} {rule.summary}")


def _explain(code: str) -> None:
    text = explanation(code)
    if text is None:
        raise Failure(f"unknown rule code {code!r}; see --list-rules")
    click.echo(text)


def _project_files(config: Config) -> list[Path]:
    """Every file of the project the configuration belongs to: a file's findings must not depend on
    which other files were named (pre-commit names only the staged ones). Without a configuration
    there is no project to speak of, and only the named files are indexed."""
    if config.path is None:
        return []
    patterns = config.exclude + config.extend_exclude
    return discover([config.root], patterns, config.root, respect_gitignore=config.respect_gitignore, doc_blocks=config.doc_blocks).files


def _analyse_paths(config: Config, paths, job: Job, quiet, jobs, cache, force_exclude) -> tuple[list[FileResult], int]:
    """The results, and how many paths could not be searched (already reported)."""
    roots = list(paths) or [config.root / p for p in config.src]
    found = discover(roots, config.exclude + config.extend_exclude, config.root, force_exclude, config.respect_gitignore, config.doc_blocks)
    for path, message in found.problems:
        click.echo(f"{path}: error: {message}", err=True)
    files = found.files
    show_progress = not quiet and sys.stderr.isatty() and len(files) >= PROGRESS_MIN_FILES
    context = _project_files(config) if paths else []
    results = run(files, job, jobs, cache, _progress if show_progress else None, context=context)
    if show_progress:
        click.echo("\r\033[K", nl=False, err=True)
    return results, len(found.problems)


def _run_paths(config: Config, paths, job: Job, mode, output: Output, jobs, cache, spec, force_exclude) -> int:
    results, unfound = _analyse_paths(config, paths, job, output.quiet, jobs, cache, force_exclude)
    verification = _verify(results, spec) if spec is not None else None
    if mode == "fix":
        write_fixes(results)
    if mode == "diff":
        for result in results:
            if result.changed and result.error is None:
                click.echo(result.diff(), nl=False)
    return _report(results, mode, output, verification=verification, unfound=unfound)


def _run_add_noqa(config: Config, paths, job: Job, jobs, cache, force_exclude) -> int:
    """Exit 0 when every finding is now suppressed, 1 when some line could take no comment, 2 on errors."""
    results, unfound = _analyse_paths(config, paths, job, True, jobs, cache, force_exclude)
    outcome = add_noqa_comments(results)
    errors = _print_errors(results)
    for result, d in outcome.refused:
        where = f"{result.path}:cell {d.cell}" if d.cell is not None else str(result.path)
        click.echo(f"{where}:{d.location.row}:{d.location.col}: {d.code} no noqa comment can go on this line (it ends inside a string or a continuation, or is a doctest's)", err=True)
    click.echo(f"Added {outcome.added} noqa comment{'s' * (outcome.added != 1)}.", err=True)
    if errors or unfound:
        return EXIT_ERROR
    return EXIT_FINDINGS if outcome.refused else EXIT_CLEAN


def _verify(results: list[FileResult], spec):
    """Files whose fixes did not verify keep their original text and findings."""
    from .verify import VerifyError, verify

    try:
        verification = verify(results, spec)
    except VerifyError as exc:
        raise Failure(str(exc)) from None
    held = {v.path for v in verification.verdicts if not v.verified}
    for result in results:
        if result.path in held:
            hold_back(result)
    return verification


PROGRESS_MIN_FILES = 200


def _progress(done: int, total: int) -> None:
    if done % 25 and done != total:
        return
    width = 30
    filled = width * done // total
    click.echo(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} files", nl=False, err=True)


def _run_stdin(filename: Path, job: Job, mode, output: Output) -> int:
    try:
        text, _ = decode(sys.stdin.buffer.read())
    except FileError as exc:
        _print_error(filename, exc.row, exc.col, exc.message)
        return EXIT_ERROR
    result = analyse_text(text, filename, job)
    if mode == "fix":
        # The fixed source goes to stdout, unchanged input included, so editors can pipe through us.
        sys.stdout.write(result.fixed_source if result.error is None and result.fixed_source is not None else text)
        sys.stdout.flush()
        return _report([result], mode, output, stream_is_stdout=False)
    if mode == "diff" and result.changed:
        click.echo(result.diff(), nl=False)
    return _report([result], mode, output)


def _report(results: list[FileResult], mode, output: Output, stream_is_stdout=True, verification=None, unfound=0) -> int:
    """`unfound`: paths discovery could not walk, already reported; they make the run an error."""
    items = [Located(str(r.path), d, r.line(d)) for r in results for d in r.diagnostics]
    errors = _print_errors(results)
    # stdout carries the diff or the fixed source in those modes; the report then goes to stderr.
    # With --output-file the report goes there, and what is for people (summary, lists) to stderr.
    to_stderr = mode == "diff" or not stream_is_stdout
    human_to_stderr = to_stderr or output.file is not None
    color = _color(output, to_stderr)
    if output.statistics:
        out = statistics(items, output.format, output.unsafe_fixes)
    else:
        out = render(items, output.format, color)
    if verification is not None:
        out = _with_verification(out, items, output.format, verification, written=mode == "fix", table=not output.statistics)
    if output.file is not None:
        try:
            write_new_atomic(output.file, out)
        except OSError as exc:
            raise Failure(f"{output.file}: cannot write the report: {exc.strerror or exc}") from None
    elif out:
        click.echo(out, nl=False, err=to_stderr, color=color)
    if output.show_fixes and not output.quiet:
        listing = _fix_list(results, mode, output.unsafe_fixes)
        click.echo(listing, nl=False, err=human_to_stderr or output.format not in ("text", "concise"))
    if output.format in ("text", "concise") and not output.quiet:
        fixed = sum(r.fixes_applied for r in results if r.error is None)
        held = frozenset(str(v.path) for v in verification.verdicts if not v.verified) if verification else frozenset()
        text = summary(items, fixed, dry_run=mode == "diff", held=held, failed=len(errors), unfound=unfound)
        click.echo(text, nl=False, err=human_to_stderr)
    if errors or unfound:
        return EXIT_ERROR
    pending = bool(items) or (mode == "diff" and any(r.changed for r in results))
    return EXIT_FINDINGS if pending and not output.exit_zero else EXIT_CLEAN


def _print_errors(results: list[FileResult]) -> list[FileResult]:
    """Print each file's error and the parts of files left out; the files that failed, in whole
    or in part (a notebook cell that does not parse), which make the run exit 2."""
    for r in results:
        for p in r.problems:
            where = f"{r.path}:cell {p.cell}" if p.cell else str(r.path)
            click.echo(f"{where}:{p.row}:{p.col}: {p.severity}: {p.message}", err=True)
        if r.error is not None:
            where = f"{r.path}:cell {r.error.cell}" if r.error.cell else str(r.path)
            _print_error(where, r.error.row, r.error.col, r.error.message)
    return [r for r in results if r.error is not None or any(p.severity == "error" for p in r.problems)]


def _fix_list(results: list[FileResult], mode: str, unsafe_fixes: bool) -> str:
    """What --fix fixed (or, with --diff, would fix): the findings gone between the original source
    and the fixed one; with --check, the findings --fix would fix."""
    per_file, names = [], {}
    for r in results:
        if r.error is not None:
            continue
        if mode == "check":
            gone = Counter(d.code for d in r.diagnostics if fixable(d, unsafe_fixes))
        else:
            gone = Counter(d.code for d in r.found or ()) - Counter(d.code for d in r.diagnostics)
        names.update((d.code, d.name) for d in (*(r.found or ()), *r.diagnostics))
        per_file.append((str(r.path), gone))
    heading = {"fix": "Fixed {}", "diff": "Would fix {}", "check": "{} fixable with --fix"}[mode]
    return fix_list(heading, per_file, names)


def _color(output: Output, to_stderr: bool) -> bool:
    """`auto`: on a terminal, unless NO_COLOR is set (FORCE_COLOR forces it, as for most tools)."""
    if output.color != "auto":
        return output.color == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return output.file is None and (sys.stderr if to_stderr else sys.stdout).isatty()


def _with_verification(out: str, items: list[Located], output_format: str, verification, written: bool, table: bool = True) -> str:
    """`table`: false when `out` is not a list of findings (--statistics); the table then goes to stderr."""
    from .verify import as_json, render_text

    if output_format == "json" and table:
        return render_json_document(items, {"verification": as_json(verification)})
    text = render_text(verification, written)
    if output_format in ("text", "concise") and table:
        return out + text
    click.echo(text, nl=False, err=True)  # github and sarif documents must stay parseable
    return out


def _print_error(path: Path | str, row: int, col: int, message: str) -> None:
    click.echo(f"{path}:{row}:{col}: error: {message}", err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
def server():
    """Serve the Language Server Protocol over stdio, for editors."""
    try:
        from .server import serve  # pygls is an optional dependency
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("pygls", "lsprotocol"):
            raise
        raise Failure("eqx-rewrite server needs pygls; install it with: pip install 'eqx-rewrite[server]'") from None
    serve()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def clean(paths) -> None:
    """Remove the findings cache of the project each path belongs to (default: the working folder)."""
    for start in paths or (Path.cwd(),):
        found = find_config(start.absolute())
        cache = Cache(found.parent if found is not None else Path.cwd())
        try:
            if cache.clear():
                click.echo(f"Removed the cache at {cache.directory}", err=True)
        except OSError as exc:
            raise Failure(f"{cache.directory}: cannot remove the cache: {exc.strerror or exc}") from None


# `eqx-rewrite NAME ...` runs a subcommand, as in `ruff server`/`ruff clean`; anything else is the
# check command's arguments, as it always was (a folder named like a subcommand is `./clean`).
SUBCOMMANDS = {"clean": clean, "server": server}


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else None
    if name in SUBCOMMANDS:
        SUBCOMMANDS[name](sys.argv[2:], prog_name=f"eqx-rewrite {name}")
    else:
        cli(prog_name="eqx-rewrite")
