"""Flags -> config -> runner -> report -> exit code. The only module that knows click."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .cache import Cache
from .config import DEVICES, Config, ConfigError, check_codes, find_config, load_config
from .engine import Settings
from .files import FileError, decode, discover
from .report import FORMATS, Located, render, render_json_document, summary
from .rule import RuleSelection, all_rules, explanation
from .runner import FileResult, Job, analyse_text, hold_back, run, write_fixes

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Failure(click.ClickException):
    """A usage or configuration error: one line on stderr, exit 2."""

    exit_code = EXIT_ERROR


def _codes(values: tuple[str, ...]) -> list[str]:
    return [c.strip().upper() for v in values for c in v.split(",") if c.strip()]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--check", "mode", flag_value="check", default=True, help="Report findings (the default).")
@click.option("--diff", "mode", flag_value="diff", help="Show the fixes as a unified diff; write nothing.")
@click.option("--fix", "mode", flag_value="fix", help="Apply fixes in place.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply fixes that may change behaviour or a pytree layout.")
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable (comma-separated).")
@click.option("--output-format", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain (errors still exit 2).")
@click.option("--stdin-filename", type=click.Path(path_type=Path), help="Read source from stdin, named this; with --fix, print the fixed source.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="pyproject.toml to use instead of searching.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: the CPUs available).")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary or progress.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the findings cache.")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Skip files that .gitignore, .ignore or .git/info/exclude ignore (the default; config: respect-gitignore).")
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
def cli(paths, mode, unsafe_fixes, select, ignore, output_format, exit_zero, stdin_filename, config_path, jobs, quiet, no_cache, respect_gitignore, force_exclude,
        verify, verify_entries, verify_cmd, verify_timeout, device, rtol, atol, list_rules, explain):
    """Find slow or wrong JAX/Equinox patterns and rewrite them, keeping behaviour.

    Exit codes: 0 nothing left to report; 1 findings (or diffs) remain; 2 usage error, unreadable or
    unparsable input, or internal error.
    """
    if list_rules:
        _list_rules()
        return
    if explain:
        _explain(explain)
        return
    try:
        config = load_config(config_path or find_config(_config_start(paths, stdin_filename)))
        settings = _settings(config, select, ignore, unsafe_fixes)
    except ConfigError as exc:
        raise Failure(str(exc)) from None
    if respect_gitignore is not None:
        config.respect_gitignore = respect_gitignore
    job = Job(settings, mode != "check", config.root, tuple((p, tuple(c)) for p, c in config.per_file_ignores.items()))
    verify_options = dict(entries=verify_entries, cmd=verify_cmd, timeout=verify_timeout, device=device, rtol=rtol, atol=atol)
    if not verify and any(v for v in verify_options.values()):
        raise Failure("--verify-entry, --verify-cmd, --verify-timeout, --device, --rtol and --atol need --verify")
    if verify and (mode == "check" or stdin_filename is not None):
        raise Failure("--verify needs --fix or --diff on files")
    if stdin_filename is not None:
        sys.exit(_run_stdin(stdin_filename, job, mode, output_format, exit_zero, quiet))
    spec = _verify_spec(config, settings, verify_options) if verify else None
    cache = None if no_cache else Cache(config.root)
    sys.exit(_run_paths(config, paths, job, mode, output_format, exit_zero, quiet, jobs, cache, spec, force_exclude))


def _config_start(paths: tuple[Path, ...], stdin_filename: Path | None) -> Path:
    if stdin_filename is not None:
        return stdin_filename.absolute()
    return paths[0].absolute() if paths else Path.cwd()


def _settings(config: Config, select, ignore, unsafe_fixes) -> Settings:
    selected, ignored = _codes(select), _codes(ignore)
    check_codes(selected, "--select")
    check_codes(ignored, "--ignore")
    selection = RuleSelection(tuple(selected or config.select), tuple(config.ignore + ignored))
    return Settings(
        selection=selection,
        unsafe_fixes=config.unsafe_fixes if unsafe_fixes is None else unsafe_fixes,
        line_length=config.line_length,
        rule_options=config.rule_options,
    )


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
    return discover([config.root], config.exclude + config.extend_exclude, config.root, respect_gitignore=config.respect_gitignore).files


def _run_paths(config: Config, paths, job: Job, mode, output_format, exit_zero, quiet, jobs, cache, spec, force_exclude) -> int:
    roots = list(paths) or [config.root / p for p in config.src]
    found = discover(roots, config.exclude + config.extend_exclude, config.root, force_exclude, config.respect_gitignore)
    for path, message in found.problems:
        click.echo(f"{path}: error: {message}", err=True)
    files = found.files
    show_progress = not quiet and sys.stderr.isatty() and len(files) >= PROGRESS_MIN_FILES
    context = _project_files(config) if paths else []
    results = run(files, job, jobs, cache, _progress if show_progress else None, context=context)
    if show_progress:
        click.echo("\r\033[K", nl=False, err=True)
    verification = _verify(results, spec) if spec is not None else None
    if mode == "fix":
        write_fixes(results)
    if mode == "diff":
        for result in results:
            if result.changed and result.error is None:
                click.echo(result.diff(), nl=False)
    return _report(results, mode, output_format, exit_zero, quiet, verification=verification, unfound=len(found.problems))


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


def _run_stdin(filename: Path, job: Job, mode, output_format, exit_zero, quiet) -> int:
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
        return _report([result], mode, output_format, exit_zero, quiet, stream_is_stdout=False)
    if mode == "diff" and result.changed:
        click.echo(result.diff(), nl=False)
    return _report([result], mode, output_format, exit_zero, quiet)


def _report(results: list[FileResult], mode, output_format, exit_zero, quiet, stream_is_stdout=True, verification=None, unfound=0) -> int:
    """`unfound`: paths discovery could not walk, already reported; they make the run an error."""
    items = [Located(str(r.path), d, r.line(d)) for r in results for d in r.diagnostics]
    errors = [r for r in results if r.error is not None]
    for r in errors:
        where = f"{r.path}:cell {r.error.cell}" if r.error.cell else str(r.path)
        _print_error(where, r.error.row, r.error.col, r.error.message)
    # stdout carries the diff or the fixed source in those modes; the report then goes to stderr.
    to_stderr = mode == "diff" or not stream_is_stdout
    out = render(items, output_format)
    if verification is not None:
        out = _with_verification(out, items, output_format, verification, written=mode == "fix")
    if out:
        click.echo(out, nl=False, err=to_stderr)
    if output_format in ("text", "concise") and not quiet:
        fixed = sum(r.fixes_applied for r in results if r.error is None)
        held = frozenset(str(v.path) for v in verification.verdicts if not v.verified) if verification else frozenset()
        text = summary(items, fixed, dry_run=mode == "diff", held=held, failed=len(errors), unfound=unfound)
        click.echo(text, nl=False, err=to_stderr)
    if errors or unfound:
        return EXIT_ERROR
    pending = bool(items) or (mode == "diff" and any(r.changed for r in results))
    return EXIT_FINDINGS if pending and not exit_zero else EXIT_CLEAN


def _with_verification(out: str, items: list[Located], output_format: str, verification, written: bool) -> str:
    from .verify import as_json, render_text

    if output_format == "json":
        return render_json_document(items, {"verification": as_json(verification)})
    table = render_text(verification, written)
    if output_format in ("text", "concise"):
        return out + table
    click.echo(table, nl=False, err=True)  # github and sarif documents must stay parseable
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


def main() -> None:
    # A subcommand beside the paths argument: `eqx-rewrite server` as in `ruff server`; a folder
    # named server is still reachable as `eqx-rewrite ./server`.
    if sys.argv[1:2] == ["server"]:
        server(sys.argv[2:], prog_name="eqx-rewrite server")
    cli(prog_name="eqx-rewrite")
