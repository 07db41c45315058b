"""Commit messages and pull-request texts, written from the same run result the engine produced.

The PR text is what a reviewer reads first, so it says per codemod and job what changed, lists every
finding that needs a human with ``file:line``, and names what the release itself must add: the
package the rewritten jobs now need when the tool could not create it, and for a package it did
create (``packages/sipid``) the commands the maintainer runs once to bring in its source and Go.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from migrator import __version__
from migrator.bulk.gitops import TRAILER_KEY, TRAILER_VALUE
from migrator.codemod import Finding
from migrator.diffing import diffstat
from migrator.engine import FileChange
from migrator.release_packages import AddedPackage

CODEMODS_TRAILER = "Exemplar-migrate-codemods"

_PACKAGE_NOTES = {
    "sipid": (
        "jobs now list `sipid` in their spec's `packages` and call `/var/vcap/packages/sipid/bin/sipid`, "
        "so the release must ship a `sipid` package (`packages/sipid/` with a `spec` and a `packaging` "
        "script that builds github.com/cloudfoundry/sipid). No public release publishes one to vendor."
    ),
}


@dataclass(frozen=True)
class CodemodInfo:
    id: str
    summary: str


@dataclass
class Migration:
    """What one run did to one release: the input to every text in this module."""

    repo: str
    codemods: Sequence[CodemodInfo]  # the selected codemods, in run order
    changes: Sequence[FileChange]
    findings: Sequence[Finding]
    required_packages: Sequence[str]
    base: str = ""
    branch: str = ""
    added_packages: Sequence[AddedPackage] = ()  # packages this change adds to the release
    shipped_packages: Sequence[str] = ()  # required packages the release already had
    made_by: str = "bulk mode"  # how the change was made, for the first sentence ("" for the plain command)
    kept_commits: Sequence[tuple[str, str, str]] = ()  # (sha, author, subject) on the branch, not ours, oldest first

    def unshipped(self) -> list[str]:
        added = {p.name for p in self.added_packages}
        return [p for p in self.required_packages if p not in added and p not in self.shipped_packages]

    def job_of(self, rel: str) -> str:
        parts = rel.split("/")
        return parts[1] if len(parts) > 2 and parts[0] == "jobs" else "(release)"

    def attributed(self) -> dict[str, list[str]]:
        """Codemod ids per changed file, as the engine recorded them: the codemods that rewrote a
        script, or that asked for a new template, a removed helper or a spec edit."""
        known = {c.id for c in self.codemods}
        return {c.rel: [i for i in c.codemods if i in known] for c in self.changes}

    def origin(self, change: FileChange) -> str | None:
        """For a new file: the script (relative to the release) it was made for, when recorded."""
        known = {c.id for c in self.codemods}
        others = [o for o in change.codemods if o not in known and o != "spec"]
        return f"jobs/{self.job_of(change.rel)}/{others[0]}" if others and change.before is None else None

    def applied(self) -> list[str]:
        ids = {i for ids in self.attributed().values() for i in ids}
        return [c.id for c in self.codemods if c.id in ids]

    def needs_human(self) -> list[Finding]:
        return [f for f in self.findings if f.severity in ("review", "error")]


def title(m: Migration) -> str:
    applied = m.applied() or [c.id for c in m.codemods]
    return f"Migrate job scripts with exemplar-migrate ({', '.join(applied)})"


def _where(f: Finding) -> str:
    return f"{f.path}:{f.line}" if f.line else f.path


def _summary_rows(m: Migration) -> list[tuple[str, str, int, int]]:
    """(codemod, job, files changed, findings to review) per codemod and job."""
    rows: dict[tuple[str, str], list[int]] = {}
    known = {c.id for c in m.codemods}
    for change in m.changes:
        for cid in (i for i in change.codemods if i in known):
            rows.setdefault((cid, m.job_of(change.rel)), [0, 0])[0] += 1
    for f in m.needs_human():
        if f.codemod in known:  # the engine's own findings are not a codemod's row
            rows.setdefault((f.codemod, m.job_of(f.path)), [0, 0])[1] += 1
    order = {c.id: i for i, c in enumerate(m.codemods)}
    keys = sorted(rows, key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))
    return [(k[0], k[1], rows[k][0], rows[k][1]) for k in keys]


def _cell(text: str) -> str:
    """Text for a table cell: a ``|`` would end the cell."""
    return text.replace("|", "\\|")


def _md(text: str) -> str:
    """Text for a list item: one line. No ``\\|`` escapes: they are only needed in table cells, and
    inside a code span GitHub would show the backslash."""
    return text.replace("\n", " ")


def _added_note(package: AddedPackage) -> str:
    text = (f"`packages/{package.name}` is new in this change: it compiles `{package.name}` from source with "
            f"`{package.go_package}`" + (f" ({package.note})" if package.note else "") + ".")
    if package.commands:
        text += " Run once in the release before `bosh create-release`:\n\n  ```sh\n"
        text += "".join(f"  {command}\n" for command in package.commands) + "  ```"
    return text


def requirements(m: Migration) -> list[str]:
    return [*(_added_note(p) for p in m.added_packages),
            *(_PACKAGE_NOTES.get(p, f"jobs now use `{p}`; the release must ship a `{p}` package.")
              for p in m.unshipped())]


def body(m: Migration) -> str:
    """The PR description (Markdown)."""
    summaries = {c.id: c.summary for c in m.codemods}
    out: list[str] = [
        f"This change was made by `exemplar-migrate` {__version__}" + (f" in {m.made_by}" if m.made_by else "")
        + (f" on top of `{m.base}`" if m.base else "") + ". Every rewrite is attributed to a codemod below; "
        "anything it could not do safely is listed under *Needs a human*.",
        "",
        "## Summary",
        "",
        "| Codemod | Job | Files changed | Findings to review |",
        "|---|---|---:|---:|",
    ]
    for cid, job, scripts, findings in _summary_rows(m):
        out.append(f"| `{cid}` | {_cell(job)} | {scripts} | {findings} |")
    out += ["", "Codemods:", ""]
    out += [f"- `{cid}`: {_md(summaries.get(cid, ''))}" for cid in (m.applied() or summaries)]
    out += ["", "## Files", ""]
    attributed = m.attributed()
    for change in m.changes:
        added, removed = diffstat(change)
        action = "new" if change.before is None else "removed" if change.after is None else f"+{added} -{removed}"
        ids = attributed.get(change.rel)
        origin = m.origin(change)
        why = (", ".join(ids) if ids else f"made for `{origin}`" if origin
               else "spec" if change.rel.endswith("/spec") else "supporting file")
        out.append(f"- `{change.rel}` ({action}; {why})")
    if m.kept_commits:
        out += ["", "## Commits on this branch not made by exemplar-migrate", "",
                "Kept as they are; the migration is added on top of them.", ""]
        out += [f"- `{sha[:8]}` {_md(subject)} ({_md(author)})" for sha, author, subject in m.kept_commits]
    changes = behaviour_changes(m)
    if changes:
        out += ["", "## Behaviour changes operators will notice", ""]
        for kind, groups in changes.items():
            out.append(f"- **{kind}**")
            out += [f"  - {_md(message)} ({', '.join(f'`{w}`' for w in wheres)})" for message, wheres in groups]
    out += ["", "## Needs a human", ""]
    human = m.needs_human()
    if human:
        for f in human:
            line = f"- [ ] `{_where(f)}` ({f.codemod}, {f.severity}): {_md(f.message)}"
            if f.suggestion:
                line += f" *Suggestion:* {_md(f.suggestion)}"
            out.append(line)
    else:
        out.append("Nothing: no finding needs review.")
    reqs = requirements(m)
    out += ["", "## What the release must add", ""]
    out += [f"- {r}" for r in reqs] if reqs else ["Nothing."]
    shown = {id(f) for f in _behaviour_findings(m)}
    info = [f for f in m.findings if f.severity == "info" and id(f) not in shown]
    if info:
        out += ["", "<details><summary>Notes</summary>", ""]
        out += [f"- `{_where(f)}` ({f.codemod}): {_md(f.message)}" for f in info]
        out += ["", "</details>"]
    if m.made_by == "bulk mode":
        out += ["", "---", "Re-running `exemplar-migrate bulk` updates this branch; commits you add to it are kept."]
    return "\n".join(out) + "\n"


#: the behaviour changes an operator notices first, and how each codemod's findings say them
BEHAVIOUR_KINDS = (
    ("Stop grace", "sipid-pidfiles", ("replaced by sipid kill",)),
    ("Health-check timing", "sipid-healthcheck", ("replaced by sipid wait-until-healthy",)),
    ("Log destinations", "log-pipelines", ("syslog", "now goes to")),
)


def _kind(f: Finding) -> str | None:
    for kind, codemod, words in BEHAVIOUR_KINDS:
        if f.codemod == codemod and any(w in f.message for w in words):
            return kind
    return None


def _behaviour_findings(m: Migration) -> list[Finding]:
    return [f for f in m.findings if f.severity in ("info", "review") and _kind(f)]


def behaviour_changes(m: Migration) -> dict[str, list[tuple[str, list[str]]]]:
    """Per kind (in ``BEHAVIOUR_KINDS`` order): each distinct message with the places it applies to.

    These stay in the visible part of the PR text: a reviewer must see that a stop now waits 20 s or
    that logs no longer reach syslog without opening the collapsed notes."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for f in _behaviour_findings(m):
        grouped.setdefault(_kind(f) or "", {}).setdefault(f.message, []).append(_where(f))
    order = [kind for kind, _, _ in BEHAVIOUR_KINDS]
    return {kind: list(grouped[kind].items()) for kind in order if kind in grouped}


def pr_markdown(m: Migration) -> str:
    """``PR.md``: the title on the first line, then the body."""
    return f"# {title(m)}\n\n{body(m)}"


def commit_message(m: Migration) -> str:
    """Subject, what changed per codemod and file, and the trailers that mark the commit as ours."""
    applied = m.applied()
    lines = [f"exemplar-migrate: {', '.join(applied) or 'migrate job scripts'}", ""]
    summaries = {c.id: c.summary for c in m.codemods}
    attributed = m.attributed()
    for cid in applied:
        jobs = sorted({m.job_of(rel) for rel, ids in attributed.items() if cid in ids})
        lines.append(f"- {cid}: {summaries.get(cid, '')} (jobs: {', '.join(jobs)})")
    lines += ["", "Files:"]
    lines += [f"- {c.rel}" for c in m.changes]
    human = m.needs_human()
    if human:
        lines += ["", f"{len(human)} finding(s) need a human; see the pull-request text."]
    for package in m.added_packages:
        lines += ["", f"Adds {package.describe()}."]
        if package.commands:
            lines += ["Run once in the release before bosh create-release:", *(f"  {c}" for c in package.commands)]
    if m.unshipped():
        lines += ["", "The release must ship package(s): " + ", ".join(m.unshipped()) + "."]
    lines += ["", f"{TRAILER_KEY}: {TRAILER_VALUE}", f"{CODEMODS_TRAILER}: {','.join(applied)}"]
    return "\n".join(lines) + "\n"


def diffstat_text(changes: Iterable[FileChange]) -> str:
    """A ``git diff --stat``-like summary for dry runs."""
    rows = [(c.rel, *diffstat(c)) for c in changes]
    if not rows:
        return "  (no changes)\n"
    width = max(len(r[0]) for r in rows)
    lines = [f"  {rel:<{width}} | +{a} -{r}" for rel, a, r in rows]
    lines.append(f"  {len(rows)} file(s) changed, {sum(r[1] for r in rows)} insertions(+), "
                 f"{sum(r[2] for r in rows)} deletions(-)")
    return "\n".join(lines) + "\n"
