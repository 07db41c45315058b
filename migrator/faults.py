"""The lines the CLI prints when something goes wrong: each fault is one line that says what, where
and what state the release is in (never a traceback)."""

from __future__ import annotations

import traceback
from pathlib import Path

from migrator import crashreport
from migrator.runner import ApplyResult, RunResult


def output_problem(output: Path | None) -> str | None:
    """Why ``-o`` cannot take the report, checked before anything is planned or written."""
    if output is None:
        return None
    if output.is_dir():
        return "is a folder; give the name of a file for the report"
    parent = output.parent
    if not parent.exists():
        return f"the folder {parent} does not exist"
    if not parent.is_dir():
        return f"{parent} is not a folder"
    return None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def internal_error(exc: BaseException) -> str:
    """Save the traceback of an exception nothing else caught; the line to print."""
    path = crashreport.save([f"uncaught exception:\n{traceback.format_exc()}"])
    return f"internal error: {_one_line(exc)}; {crashreport.where(path)}"


def crash_line(result: RunResult) -> str | None:
    """One line for the codemod crashes the engine caught (the files were left unchanged)."""
    reports = [r for o in result.outcomes for r in o.crash_reports]
    if not reports:
        return None
    path = crashreport.save(reports)
    n = len(reports)
    return (f"internal error: {n} {'file was' if n == 1 else 'files were'} left unchanged because of a bug in "
            f"exemplar-migrate (see the findings above); {crashreport.where(path)}")


def failure_lines(applied: ApplyResult | None) -> list[str]:
    """An error line per job that could not be written: the job, the file and the OS error."""
    if applied is None:
        return []
    return [f"error: job {label} not written: {reason}"
            for label, reason in applied.failed.items()]


def stop_lines(applied: ApplyResult | None) -> list[str]:
    """Which jobs were written and which were not, when a failure or a signal stopped some."""
    if applied is None or not (applied.not_written or applied.signal_name):
        return []
    lines = []
    if applied.signal_name:
        lines.append(f"interrupted ({applied.signal_name}): {len(applied.written)} "
                     f"{'job' if len(applied.written) == 1 else 'jobs'} written, {len(applied.not_written)} not "
                     "written; no job was left half-written")
    lines.append(f"written: {', '.join(applied.written) or 'none'}")
    if applied.not_written:
        lines.append(f"not written: {', '.join(applied.not_written)}")
    return lines
