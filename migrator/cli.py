"""Command line: ``exemplar-migrate [--dry-run|--check] PATHS...`` and ``exemplar-migrate bulk ...``.

Diffs go to stdout, messages to stderr. Exit codes: 0 nothing to do or all applied; 1 changes pending
(``--check``/``--dry-run``), findings that need a human, or a job that could not be written; 2 usage or
configuration error; 123 an internal error (one line on stderr, the traceback in a report file);
130/143 (128 + the signal) when SIGINT/SIGTERM stopped the run (no job is ever left half-written).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from migrator import __version__

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 123


def _split_ids(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _list_codemods(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import codemods

    for cls in codemods.REGISTRY:
        click.echo(f"{cls.id:20} {cls.summary}")
    ctx.exit(EXIT_OK)


def _explain(ctx: click.Context, _param, value: str | None) -> None:
    if not value or ctx.resilient_parsing:
        return
    import codemods

    cls = codemods.by_id().get(value)
    if cls is None:
        click.echo(f"error: unknown codemod '{value}' (see --list-codemods)", err=True)
        ctx.exit(EXIT_USAGE)
    from migrator.explain import explain_text

    click.echo(explain_text(cls), nl=False)
    ctx.exit(EXIT_OK)


@click.command(context_settings={"help_option_names": ["-h", "--help"]},
               epilog="Many release repos at once (one branch, commit and PR text each): "
                      "exemplar-migrate bulk REPOS... (see exemplar-migrate bulk --help).")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--dry-run", "--diff", "dry_run", is_flag=True, help="Print unified diffs; write nothing.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when anything would change.")
@click.option("--select", multiple=True, metavar="IDS", help="Only these codemods (comma separated).")
@click.option("--ignore", multiple=True, metavar="IDS", help="Skip these codemods (comma separated).")
@click.option("--output-format", type=click.Choice(["text", "json", "sarif", "markdown"]), default="text",
              show_default=True, help="text: diffs and findings; json; sarif (code scanning); markdown (PR text).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour diffs and findings (auto: on a terminal, unless NO_COLOR is set).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the report here instead of stdout.")
@click.option("-j", "--jobs", "workers", type=click.IntRange(min=0), default=0,
              help="Plan this many jobs in parallel (default 0: one process per core on large runs).")
@click.option("--sipid-path", help="Path of the sipid binary on the VM.")
@click.option("--allow-dirty", is_flag=True, help="Apply even over files with uncommitted git changes.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the exit code.")
@click.option("-v", "--verbose", is_flag=True, help="Also informational findings and discovery notes.")
@click.option("--list-codemods", is_flag=True, expose_value=False, is_eager=True, callback=_list_codemods,
              help="List codemod ids and summaries.")
@click.option("--explain", metavar="ID", expose_value=False, is_eager=True, callback=_explain,
              help="Show what a codemod does and why.")
@click.version_option(__version__, package_name="exemplar-migrate")  # given: no importlib.metadata (10 ms)
def migrate(paths, dry_run, check, select, ignore, output_format, color, output, workers, sipid_path, allow_dirty,
            quiet, verbose) -> None:
    """Migrate BOSH job scripts in PATHS (a release, its jobs/, a job, or script files)."""
    from migrator.faults import internal_error
    from migrator.interrupts import Interrupted

    try:
        code = _migrate(paths, dry_run, check, _split_ids(select), _split_ids(ignore), output_format, output,
                        workers, sipid_path, allow_dirty, quiet, verbose, color=color)
    except Interrupted as exc:
        click.echo(f"interrupted ({exc.name}) while planning: nothing was written", err=True)
        code = exc.exit_code
    except Exception as exc:  # the last line of defence: one line, the traceback in a report file
        click.echo(internal_error(exc), err=True)
        code = EXIT_INTERNAL
    sys.exit(code)


def _migrate(paths, dry_run, check, select, ignore, output_format, output, workers, sipid_path, allow_dirty,
             quiet, verbose, color: str = "auto") -> int:
    import codemods
    from migrator import colour
    from migrator.codemod import Options
    from migrator.config import ConfigError, load_config
    from migrator.discovery import DiscoveryError, discover
    from migrator.engine import Pipeline
    from migrator.faults import crash_line, failure_lines, output_problem, stop_lines
    from migrator.interrupts import deferred
    from migrator.report import as_json, format_finding, summary_line
    from migrator.runner import DirtyTree, apply_jobs, check_clean, clean_stale, run_jobs

    paint_out = output is None and colour.enabled(color, sys.stdout)  # a report file is never coloured
    paint_err = colour.enabled(color, sys.stderr)
    err = lambda msg: click.echo(msg, err=True, color=paint_err or None)  # noqa: E731
    shown = lambda f: colour.finding(format_finding(f)) if paint_err else format_finding(f)  # noqa: E731
    if not paths:
        err("error: give at least one path (a release, its jobs/ folder, a job, or a script)")
        return EXIT_USAGE
    apply = not (dry_run or check)
    problem = output_problem(output)
    if problem:
        err(f"error: -o {output}: {problem}")
        return EXIT_USAGE
    try:
        jobs = discover(list(paths))
    except DiscoveryError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    try:
        config = load_config(jobs[0].release_root) if jobs else load_config(Path.cwd())
    except ConfigError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    try:
        chosen = codemods.select(select or config.select or None, ignore or config.ignore or None)
    except KeyError as exc:
        err(f"error: unknown codemod id {exc} (see --list-codemods)")
        return EXIT_USAGE
    options = Options(sipid_path=sipid_path or config.sipid_path or Options().sipid_path)
    pipeline = Pipeline(chosen, options)
    for note in clean_stale(jobs, remove=apply):  # a killed run's leftovers, before they are read
        if not quiet:
            err(f"note: {note}")

    progress = None
    if sys.stderr.isatty() and not quiet and len(jobs) > 1:
        done = [0]

        def progress(outcome) -> None:
            done[0] += 1
            line = f"[{done[0]}/{len(jobs)}] {outcome.job}" if done[0] < len(jobs) else ""
            click.echo(f"\r\x1b[K{line}", err=True, nl=False)  # cleared when the last job is done

    result = run_jobs(jobs, pipeline, workers or _auto_workers(len(jobs)), progress)

    if apply and result.changes and not allow_dirty:
        try:
            check_clean(result.changes)
        except DirtyTree as exc:
            err(f"error: {exc}")
            return EXIT_USAGE

    def emit(text: str) -> str | None:
        """Print or save the report; why it could not be saved, or None."""
        if output is None:
            if text:
                click.echo(text, nl=False, color=paint_out or None)
            return None
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            return str(exc.strerror or exc)
        return None

    mode = "check" if check else "dry-run" if dry_run else "apply"
    report_after = output_format == "json" and apply and bool(result.changes)  # it says which jobs were written
    if not report_after:
        problem = emit(_report(output_format, result, mode, dry_run, chosen, paint_out))
        if problem:
            err(f"error: -o {output}: cannot write the report: {problem}; nothing was changed")
            return EXIT_USAGE

    with deferred() as pending:  # from here on a signal never cuts a job, or this report, in half
        applied = apply_jobs(result.outcomes, pending) if apply and result.changes else None
        report_problem = emit(as_json(result, mode, applied)) if report_after else None
        if report_problem:
            err(f"error: -o {output}: cannot write the report: {report_problem}")

        if output_format == "text" and not quiet:
            if verbose:
                for o in result.outcomes:
                    for note in o.notes:
                        err(f"note: {o.job}: {note}")
            for f in result.findings:
                if f.severity != "info" or verbose:
                    err(shown(f))
            if check:
                for c in result.changes:
                    err(f"would change {c.rel}")
        elif quiet:
            for f in result.findings:
                if f.severity == "error":
                    err(shown(f))
        for line in failure_lines(applied):
            err(line)
        crashed = crash_line(result)
        if crashed:
            err(crashed)
        if output_format == "text" and not quiet:
            err(summary_line(result, applied=apply, not_written=applied.not_written if applied else ()))
        for line in stop_lines(applied):
            err(line)

    if applied is not None and applied.exit_code:
        return applied.exit_code
    if report_problem:
        return EXIT_USAGE
    if result.internal_errors:
        return EXIT_INTERNAL
    needs_human = any(f.severity in ("review", "error") for f in result.findings)
    if (not apply and result.changes) or needs_human or (applied is not None and applied.failed):
        return EXIT_ATTENTION
    return EXIT_OK


def _report(output_format: str, result, mode: str, dry_run: bool, chosen: list, paint: bool) -> str:
    """What goes to stdout (or ``-o FILE``) before anything is applied."""
    from migrator.report import as_json, diffs

    if output_format == "json":
        return as_json(result, mode)
    if output_format == "sarif":
        from migrator.report_sarif import as_sarif

        return as_sarif(result, [type(c) for c in chosen])
    if output_format == "markdown":
        from migrator.report_markdown import as_markdown

        return as_markdown(result, [type(c) for c in chosen])
    if not dry_run:
        return ""
    from migrator import colour

    return colour.diff(diffs(result)) if paint else diffs(result)


#: below this many jobs, starting worker processes costs more than it saves
AUTO_PARALLEL_MIN_JOBS = 32


def _auto_workers(job_count: int) -> int:
    import os

    if job_count < AUTO_PARALLEL_MIN_JOBS:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "bulk":
        try:
            from migrator.bulk.cli import bulk
        except ImportError:  # pragma: no cover
            click.echo("error: bulk mode is not available in this build", err=True)
            sys.exit(EXIT_USAGE)
        try:
            bulk.main(args=args[1:], prog_name="exemplar-migrate bulk")
        except Exception as exc:  # a bug outside bulk's per-repo guard: one line, the traceback saved
            from migrator.faults import internal_error

            click.echo(internal_error(exc), err=True)
            sys.exit(EXIT_INTERNAL)
        return
    from migrator.interrupts import Interrupted, stop_on_signals

    stop_on_signals()  # an early Ctrl-C (still parsing options) is one line too, not a traceback
    try:
        migrate.main(args=args, prog_name="exemplar-migrate")
    except Interrupted as exc:
        click.echo(f"interrupted ({exc.name}) while planning: nothing was written", err=True)
        sys.exit(exc.exit_code)
