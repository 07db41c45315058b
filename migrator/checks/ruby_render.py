"""The Ruby ERB gate: a script's rewrite is kept only where every template it leaves still renders.

bash and tree-sitter see ERB only as masked text, so a rewrite can pass them and still leave a
template that BOSH cannot render: an ``<% else raise %>`` whose ``if`` moved to the env template
(a syntax error), an env template reading a Ruby local that only the script assigned (a
NameError), a heredoc cut out of its output tag. Ruby's own ERB is the only judge of that, so
the old script and the new script with every template it creates are rendered through the
package's ``render.rb`` (one Ruby process per run, one batch per job), in two contexts: spec
defaults plus made-up values, and the same with every boolean flipped (both sides of an ``if``).

Only a regression blocks: in a context where the old script did not render (a property the
spec does not declare, say), nothing new is blamed. Without ``ruby`` the check is skipped and
the run says so once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from migrator.codemod import CodemodResult, Finding, JobContext
from migrator.document import Document
from migrator.ruby_erb.contexts import manifest_properties
from migrator.ruby_erb.renderer import UNAVAILABLE, RenderRequest, RubyRenderer, default_renderer, ruby_available

if TYPE_CHECKING:
    from migrator.engine import ScriptResult

#: the name of this check in the summary's "verified:" list
CHECK = "Ruby ERB"
NOT_INSTALLED = ("ruby is not on PATH; install it (apt-get install ruby) to have every template the tool "
                 "creates or changes rendered with Ruby's ERB before it is written")

_CONTEXTS = (("", False), (" with every boolean property flipped", True))


def gate(ctx: JobContext, results: Sequence[ScriptResult], renderer: RubyRenderer | None = None
         ) -> tuple[list[ScriptResult], str | None]:
    """The results with each rewrite that breaks rendering undone (and an error finding), and why
    the check was skipped (None when it ran)."""
    if not ruby_available():
        return list(results), NOT_INSTALLED
    to_render: list[tuple[ScriptResult, list[tuple[str, str]]]] = []  # each with (template, text), old first
    for r in results:
        created = [(nf.path, nf.content) for nf in r.result.new_files if nf.path.startswith("templates/")]
        if r.final.source == r.original.source and not created:
            continue
        same = same_ruby(r.original, r.final)
        if same and not created:
            continue  # the rewrite touched only shell text: Ruby sees the same program
        new = ([] if same else [(r.template.rel, r.final.text)]) + created
        to_render.append((r, [(r.template.rel, r.original.text), *new]))
    if not to_render:
        return list(results), None

    renderer = renderer or default_renderer()
    properties = _jsonable(ctx.properties or {})  # a spec may hold odd YAML (dates, number keys)
    job_spec = {"name": ctx.name, "properties": properties}
    contexts = [{"properties": manifest_properties(properties, flip_booleans=flip)} for _, flip in _CONTEXTS]

    # the new templates first: only a regression blocks, so the old version is rendered only in a
    # context where one of them fails (most rewrites render everywhere: a third to half fewer renders)
    requests: list[RenderRequest] = []
    plans: list[tuple[ScriptResult, tuple[str, str], list[list[tuple[str, int]]]]] = []  # per context: new
    for r, (old, *new) in to_render:
        per_context = []
        for context in contexts:
            indices = [(rel, len(requests) + i) for i, (rel, _) in enumerate(new)]
            requests.extend(RenderRequest(text, job_spec, context, output=False) for _, text in new)
            per_context.append(indices)
        plans.append((r, old, per_context))
    answers = renderer.render_many(requests)
    old_requests: list[RenderRequest] = []
    old_at: dict[tuple[int, int], int] = {}  # (plan, context) -> index in old_requests
    for p, (_r, (_, old_text), per_context) in enumerate(plans):
        for c, indices in enumerate(per_context):
            if any(not answers[i].ok for _, i in indices):
                old_at[p, c] = len(old_requests)
                old_requests.append(RenderRequest(old_text, job_spec, contexts[c], output=False))
    old_answers = renderer.render_many(old_requests) if old_requests else []
    if any(a.error == UNAVAILABLE for a in [*answers, *old_answers]):
        skipped = next(a.message for a in [*answers, *old_answers] if a.error == UNAVAILABLE)
        return list(results), f"Ruby stopped answering ({skipped})"

    rejected: dict[int, Finding] = {}
    for p, (r, _, per_context) in enumerate(plans):
        for c, ((label, _), indices) in enumerate(zip(_CONTEXTS, per_context)):
            if (p, c) not in old_at or not old_answers[old_at[p, c]].ok:
                continue  # every new template renders, or the old one did not either: nothing to blame
            broken = next(((rel, answers[i]) for rel, i in indices if not answers[i].ok), None)
            if broken:
                rel, answer = broken
                rejected[id(r)] = Finding(
                    "engine", r.template.rel, None,
                    f"left unchanged: Ruby ERB would not render {rel} after {', '.join(r.applied) or 'the codemods'}"
                    f"{label} ({answer.summary})", "error")
                break
    return [_undone(r, rejected[id(r)]) if id(r) in rejected else r for r in results], None


def same_ruby(old: Document, new: Document) -> bool:
    """Whether two versions of a template are the same Ruby program.

    ERB compiles the text between tags to string literals, so when the tags are the same, in the
    same order, the new version renders wherever the old one did (most rewrites touch only shell).
    Not assumed when a tag may have been missed: a scan error, or a ``<%`` outside the tags found.
    """
    if old.erb_error or new.erb_error:
        return False
    old_tags, old_rest = _tags_and_rest(old)
    new_tags, new_rest = _tags_and_rest(new)
    return old_tags == new_tags and b"<%" not in old_rest and b"<%" not in new_rest


def _tags_and_rest(doc: Document) -> tuple[list[bytes], bytes]:
    tags, rest, at = [], [], 0
    for tag in doc.tags:
        tags.append(doc.source[tag.start:tag.end])
        rest.append(doc.source[at:tag.start])
        at = tag.end
    rest.append(doc.source[at:])
    return tags, b"".join(rest).replace(b"<%%", b"")


def _undone(r: ScriptResult, finding: Finding) -> ScriptResult:
    """The script as it was: no edits, no new files, no spec changes; the codemods' findings stay,
    except those that describe the rewrite (tied to its edits), which was not made."""
    kept = [f for f in r.result.findings if not f.fix]
    return replace(r, final=r.original, applied=[], result=CodemodResult(findings=[*kept, finding]))


def _jsonable(value: Any) -> Any:
    """Spec YAML may hold dates or odd keys: give Ruby plain JSON."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
