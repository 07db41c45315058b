"""ERB loops that emit script lines per item, as bash arrays and a ``for`` loop (``erb-to-config``).

``<% p("roles").each do |role| %> ... <%= role["name"] %> ... <% end %>`` writes the same
statements once per item at render time. The env template can hold, per value the body reads, an
array with one element per item (``ROLE_NAME=(<%= p("roles").map { |role| ... } %>)``), and bash
can run the body once per element: same statements, same order, same argv (an empty list runs
nothing either way). A condition inside the body becomes a per-item array too (``true``/``false``,
or the chosen value of a choice), and a bash ``if`` on it.

A loop inside the body over a list each item holds (``<% db["extensions"].each do |ext| %>``)
becomes a bash loop too: all items' entries in one flat array, in item order, and one more array
saying where each item's entries start (with one more entry at the end), so item ``i`` walks
``X[${X_START[i]}]`` up to ``X[${X_START[i + 1]} - 1]``; entries of an item whose conditions kept
the old template from reaching the loop are none.

A value printed unquoted where bash splits words (``/bin/add-user <%= user["name"] %>``) was
shell source to the old script: an item ``a b`` gave two arguments. Its element is the value as
it is, in the same array as the value read inside quotes, and the command expands it unquoted
(``/bin/add-user ${USER_NAME[$i]}``, ``$user``): bash splits the expansion at blanks and newlines
(the default IFS) and globs it, as it split and globbed the rendered text, so the argv is the same
for any value without shell syntax. A value with quotes, ``$``, backquotes, backslashes, operators
or braces was re-parsed as shell code by the old script (a manifest could run commands); the new
one passes its words as they are, which the codemod says in an info finding. A script that sets
``IFS`` keeps such a loop (the expansion would split elsewhere). A value that cannot be several
words is quoted: inside quotes, a number (the item of a range, an index, a ``.size``), a value the
template shell-escapes itself (one word, which bash read back to the value: the element is the
escaped text, which the array assignment reads back the same way).

Arrays are named for what they hold, so a second loop over the same list, read the same way,
uses the arrays of the first (one ``USER_NAME``, not ``USER_NAME`` and ``USER_NAME_2``).

What stays, with the reason: a loop over lists of lists or over a list not held by the item, an
inner loop holding ERB blocks or Ruby of its own, a value of the item read only inside the inner
loop (the old template computed it only for items with entries), a
body that writes a heredoc with ERB (one file per item), values inside double quotes that hold
quotes of their own (the old script's shell removed them), Ruby run per item that is not a plain
assignment, ``break``/``continue`` in the body (they would now act on the new loop), a body that is
not whole statements, and POSIX sh scripts (no arrays).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from codemods import _erb_ruby as ruby
from codemods._erb_blocks import Group, Structure
from codemods._erb_branches import statement_branches
from codemods._erb_context import Place, command_around, place_of
from codemods._erb_indent import Layout, fixed_lines
from codemods._erb_indent import layout as indent_layout
from codemods._erb_lines import alone_on_its_lines, tag_lines
from codemods._erb_reasons import loop_shape_reason
from migrator.codemod import Edit
from migrator.document import Document
from migrator.erb import ErbTag, strip_ruby_strings

_OPENER = re.compile(
    r"(?P<expr>.+?)\s*\.\s*(?P<method>each|each_with_index|each_pair)\s+do\s*\|(?P<params>[^|]*)\|(?P<rest>.*)",
    re.DOTALL)
#: values whose text holds double quotes of its own (JSON, inspect, a list or hash printed)
_QUOTY = re.compile(r"\.(?:to_json|inspect|to_yaml)\b|\bJSON\.(?:dump|generate|pretty_generate)\b")


#: an inner loop's list: a field of the outer item (``db["extensions"]``, ``(db['keys'] || [])``)
_ITEM_FIELD = re.compile(r"""\(?\s*(?P<item>[a-z_]\w*)\s*\[\s*(?P<q>["'])[\w.\-]+(?P=q)\s*\]\s*(?:\|\|\s*\[\s*\]\s*)?\)?""")


@dataclass
class InnerLoop:
    """A loop inside the loop over items, over a list held by each item (``db["extensions"]``):
    its entries for all items go into one flat array, and a second array says where each
    item's entries start (one more entry at the end), so bash can walk item i's entries."""

    group: Group
    expr: str
    method: str
    params: list[str]
    tags: list[ErbTag] = field(default_factory=list)  # output tags that read an entry


def _inner_loop(ctx: LoopContext, g: Group, groups: list[Group], params: list[str]) -> InnerLoop | str:
    """An inner loop that can become a bash loop over a slice of flat arrays, or why not."""
    doc = ctx.doc
    opener = _OPENER.fullmatch(_blank_strings(g.opener.code.strip()))
    if opener is None or g.end is None:
        return f"it holds another {g.describe()} (line {doc.line_of(g.start)}): a list per item"
    code = g.opener.code.strip()
    expr = code[:opener.end("expr")].strip()
    field_of = _ITEM_FIELD.fullmatch(expr)
    if field_of is None or field_of.group("item") not in params:
        # a list of lists, or a list from elsewhere: nothing names it per item
        return f"it holds another {g.describe()} (line {doc.line_of(g.start)}): a list per item"
    inner_params = [p.strip() for p in opener.group("params").split(",") if p.strip()]
    if not inner_params or any(not re.fullmatch(r"[a-z_]\w*", p) for p in inner_params):
        return f"the block variables of the loop on line {doc.line_of(g.start)} are not plain names"
    if code[opener.start("rest"):].strip():
        return f"the loop on line {doc.line_of(g.start)} runs Ruby in its opening tag"
    if any(g.opener.end <= o.start and o.stop <= g.end.start for o in groups):
        return f"the loop on line {doc.line_of(g.start)} holds ERB blocks of its own (a list per entry)"
    if any(t.kind == "control" for t in doc.tags_in(g.opener.end, g.end.start)):
        return f"the loop on line {doc.line_of(g.start)} runs Ruby per entry"
    return InnerLoop(g, expr, opener.group("method"), inner_params)


@dataclass
class LoopPlan:
    """What converting one loop asks for: env template lines, script edits, tags it takes."""

    group: Group
    arrays: list[tuple[str, str]] = field(default_factory=list)  # (array name, env template line)
    edits: list[Edit] = field(default_factory=list)
    consumed: set[int] = field(default_factory=set)
    container_is_program: bool = True
    container_start: int = 0
    inner: list[int] = field(default_factory=list)  # inner loops made bash loops (their start offsets)
    unquoted: dict[str, str] = field(default_factory=dict)  # a value printed unquoted -> its unquoted expansion


@dataclass(frozen=True)
class LoopContext:
    """What the loop planner needs from the codemod (naming and the script's facts)."""

    doc: Document
    structure: Structure
    properties: dict
    codemod_id: str
    nounset: bool
    name: Callable[[str, str], str]  # (key, base) -> an unused variable name
    value_base: Callable[[str, dict[str, str]], str | None]  # (code, aliases) -> a name base
    condition_base: Callable[[str, dict[str, str]], str | None]
    selector_base: Callable[[list[str], dict[str, str]], tuple[str, list[str]] | None]
    shell_name: Callable[[str], str]  # a bash variable name the script does not use yet
    travels: Callable[[str], str | None]  # a Ruby local/method the code reads that cannot travel
    harmless: Callable[[str], bool] = lambda code: False  # renders the same, without raising, anywhere
    escaped: Callable[[str], bool] = lambda code: False  # the whole value is shell-escaped by its own Ruby


def plan_loop(ctx: LoopContext, group: Group) -> LoopPlan | str:
    """The conversion of one ERB loop around whole lines, or why it stays."""
    doc = ctx.doc
    opener = _OPENER.fullmatch(_blank_strings(group.opener.code.strip()))
    if opener is None or group.end is None:
        return "its opening tag is not a plain `LIST.each do |item|`"
    code = group.opener.code.strip()
    expr_end = opener.end("expr")
    expr, method = code[:expr_end].strip(), opener.group("method")
    params = [p.strip() for p in opener.group("params").split(",") if p.strip()]
    if not params or any(not re.fullmatch(r"[a-z_]\w*", p) for p in params):
        return "its block variables are not plain names"
    rest = code[opener.start("rest"):].strip()
    outer = next((g for g, _ in ctx.structure.chain_at(group.start) if not g.conditional), None)
    if outer is not None:
        return f"it is nested in the {outer.describe()} on line {doc.line_of(outer.start)} (a list per item)"
    inside = [t for t in doc.tags_in(group.opener.end, group.end.start)]
    groups = [g for g in ctx.structure.groups if group.opener.end <= g.start and g.stop <= group.end.start]
    inner_loops: list[InnerLoop] = []
    for g in groups:
        if g.else_runs_code:
            return f"the conditional inside it (line {doc.line_of(g.start)}) runs Ruby in its `else`"
        if not g.conditional:
            found_inner = _inner_loop(ctx, g, groups, params)
            if isinstance(found_inner, str):
                return found_inner
            inner_loops.append(found_inner)
            continue
        if any(o is not g and o.start < g.start and g.stop < o.stop for o in groups):
            return f"it holds nested conditionals (line {doc.line_of(g.start)})"
        if re.match(r"(?:if_p|if_link)\b", g.opener.code.strip()):
            return f"it holds an `{g.opener.code.split('(')[0].strip()}` block (line {doc.line_of(g.start)})"
    group_tags = {t.start for g in groups for t in g.tags}
    statements = [t for t in inside if t.kind == "control" and t.start not in group_tags]
    item_locals: set[str] = set(params)
    prelude = [rest] if rest else []
    for tag in statements:
        defined = ruby.locals_defined(tag.code)
        if not defined or not alone_on_its_lines(doc, tag):
            return f"it runs Ruby per item on line {doc.line_of(tag.start)} that is not a plain assignment"
        item_locals |= defined
        prelude.append(tag.code.strip())
    item_locals |= ruby.locals_defined(rest) if rest else set()
    branches = statement_branches(doc, group)
    if branches is None:
        return loop_shape_reason(doc, group)
    body = doc.root.descendant_for_byte_range(group.opener.end, group.end.start)
    if re.search(rb"(?m)^\s*(?:break|continue)\b|[;&|]\s*(?:break|continue)\b", doc.masked[group.opener.end:group.end.start]):
        return "its body has `break` or `continue`, which would act on the new bash loop"
    del body
    nested = {}
    for g in groups:
        found = statement_branches(doc, g)
        if found is None:
            return f"the conditional inside it (line {doc.line_of(g.start)}) is not around whole statements"
        nested[g.start] = found
    # an item value is named after itself (role["name"]: ROLE_NAME), a local set per item after the item too
    aliases = {n: f":{n}" if n in params else f":{params[0]}_{n}" for n in item_locals}
    per_item: list[ErbTag] = []

    def in_item_group(tag: ErbTag) -> bool:
        return any(g.start < tag.start < g.stop and ruby.identifiers(" ".join(t.code for t in g.tags)) & item_locals
                   for g in groups)

    # a value the same for every item, also evaluated outside any per-item condition: one variable
    free = {t.code.strip() for t in inside if t.kind == "output" and not ruby.identifiers(t.code) & item_locals
            and (not in_item_group(t) or ctx.harmless(t.code))}
    cond_groups = [g for g in groups if g.conditional]
    outer_in_inner: dict[str, int] = {}  # an item value read inside an inner loop -> its line
    for tag in inside:
        if tag.kind != "output":
            continue
        loop_of = next((lp for lp in inner_loops if lp.group.opener.end <= tag.start < lp.group.end.start), None)
        reads = ruby.identifiers(tag.code) & item_locals
        reads_inner = ruby.identifiers(tag.code) & set(loop_of.params) if loop_of is not None else set()
        place = place_of(doc, tag)
        line = doc.line_of(tag.start)
        if place == "inside a shell comment" and (reads or reads_inner):
            # the comment names the item with the array's element: it runs nothing
            (loop_of.tags if reads_inner else per_item).append(tag)  # type: ignore[union-attr]
            continue
        if not isinstance(place, Place):
            if "heredoc" in place:
                return f"it writes a heredoc with ERB per item (line {line}): one file per item"
            return f"a value inside it (line {line}) is {place}"
        if tag.trims_newline:
            return f"a value inside it (line {line}) ends with -%>, which joins it to the next line"
        if _alone_on_line(doc, tag):
            return f"a value inside it (line {line}) emits whole script lines"
        if not reads and not reads_inner and (tag.code.strip() in free or not in_item_group(tag)):
            local = ctx.travels(tag.code)
            if local:
                return f"a value inside it (line {line}) reads the Ruby local `{local}`, which cannot travel"
            continue  # the same for every item: an ordinary value, moved on its own
        if loop_of is not None and not reads and not reads_inner:
            return (f"a value inside the loop on line {doc.line_of(loop_of.group.start)} (line {line}) is the "
                    "same for every entry, and the old script computed it only for items with entries")
        if place.quote == "dq" and _QUOTY.search(tag.code):
            return (f"a value inside it (line {line}) holds double quotes of its own, which the old script's "
                    "shell removed")
        local = ctx.travels(tag.code)
        if local and local not in item_locals and local not in reads_inner:
            return f"a value inside it (line {line}) reads the Ruby local `{local}`, which cannot travel"
        if reads_inner:
            loop_of.tags.append(tag)  # type: ignore[union-attr]
            continue
        if loop_of is not None:
            outer_in_inner.setdefault(tag.code.strip(), line)
        per_item.append(tag)
    for g in groups:
        local = next((ctx.travels(t.code) for t in g.tags if ctx.travels(t.code)), None)
        if local and local not in item_locals:
            return f"the condition on line {doc.line_of(g.start)} reads the Ruby local `{local}`, which cannot travel"
    # an item value read inside an inner loop is computed for every item only when the old script
    # also computed it for every item (outside any condition and any inner loop)
    for code, line in outer_in_inner.items():
        if not any(t.code.strip() == code and _branch_guard(t, cond_groups) is None
                   and not any(lp.group.start < t.start < lp.group.stop for lp in inner_loops) for t in per_item):
            return (f"a value inside an inner loop (line {line}) is computed there only for items with entries, "
                    "and nowhere else for every item")
    for lp in inner_loops:
        if not lp.tags:
            return f"nothing in the loop on line {doc.line_of(lp.group.start)} differs between its entries"
    return _build(ctx, group, expr, method, params, prelude, per_item, groups, nested, branches, aliases,
                  inner_loops)


def _build(ctx: LoopContext, group: Group, expr: str, method: str, params: list[str], prelude: list[str],
           per_item: list[ErbTag], all_groups: list[Group], nested: dict, branches, aliases: dict[str, str],
           inner_loops: list[InnerLoop]) -> LoopPlan | str:
    doc = ctx.doc
    groups = [g for g in all_groups if g.conditional]  # the conditionals; inner loops apart
    plan = LoopPlan(group, container_is_program=branches.container.type == "program",
                    container_start=branches.container.start_byte)
    mapper = f"{expr}.each_with_index.map" if method == "each_with_index" else f"{expr}.map"
    block_head = f"|{', '.join(params)}|"
    steps = "".join(f"{p}; " for p in prelude if "\n" not in p and "#" not in strip_ruby_strings(p))
    if len(steps) != sum(len(p) + 2 for p in prelude):
        steps = "".join(f"{p}\n" for p in prelude)
    numbers = _number_params(expr, method, params)

    def per_item_array(base: str, value: str) -> str:
        """An array of one element per item; named for what it holds (a second loop over the same
        list reading the same value shares it)."""
        text = f"(<%= {mapper} {{ {block_head} {steps}{value} }}.join(\" \") %>)"
        name = ctx.name("loop-array#" + text, base)
        plan.arrays.append((name, f"{name}={text}\n"))
        per_item_arrays.append(name)
        return name

    collection = ctx.value_base(expr, {}) or (params[0].upper() + "_ITEMS")
    forms = {tag.start: _form(ctx, tag, numbers) for tag in per_item}
    split = [t for t in per_item if forms[t.start] == "words"] + [
        t for lp in inner_loops for t in lp.tags if _inner_form(ctx, t, lp) == "words"]
    if split and _SETS_IFS.search(doc.masked.decode("utf-8", "replace")):
        return (f"a value inside it (line {doc.line_of(split[0].start)}) is printed unquoted and the script sets "
                "IFS, so an unquoted expansion would not split into the words bash read from the rendered text")
    names: dict[tuple[str, str], str] = {}  # (code, element form) -> array
    per_item_arrays: list[str] = []  # the arrays of one element per item
    # a value under a condition inside the body is only computed for the items that take that
    # branch (the old template never evaluated it for the others): '' (no words) keeps the items in step
    guards: dict[tuple[str, str], set[str | None]] = {}
    seen_in: dict[tuple[str, str], dict[int, set[int]]] = {}  # value -> group -> branches it appears in
    for tag in per_item:
        key = (tag.code.strip(), _element(forms[tag.start]))
        guards.setdefault(key, set()).add(_branch_guard(tag, groups))
        holder = next((g for g in groups if g.opener.end <= tag.start < g.stop), None)
        if holder is not None:
            seen_in.setdefault(key, {}).setdefault(holder.start, set()).add(holder.branch_at(tag.start))
    for key, seen in seen_in.items():  # in every branch of an if/else: computed for every item
        for g in groups:
            has_else = len(_tests(g)) <= len(g.middles)
            if has_else and seen.get(g.start) == set(range(len(g.middles) + 1)):
                guards[key].add(None)
    # the item's value escaped with shellescape by the template (``<%= vhost.shellescape %>``,
    # unquoted) was one word bash read back to the value: when every item computes the value itself
    # too, one array holds both (a value that is no string, which shellescape refused, aside)
    escaped_as: dict[tuple[str, str], str] = {}  # (value, "plain") -> the escaping code
    for tag in per_item:
        code = tag.code.strip()
        key = (_unescaped(code), "plain")
        if (forms[tag.start] == "called" and _SHELLESCAPE.fullmatch(code) and key in guards
                and guards[key] == {None} == guards[(code, "called")]):
            escaped_as.setdefault(key, code)
    for tag in per_item:
        code, form = tag.code.strip(), _element(forms[tag.start])
        if (code, form) in names:
            continue
        if form == "called" and (_unescaped(code), "plain") in escaped_as:
            if (_unescaped(code), "plain") in names:
                names[(code, form)] = names[(_unescaped(code), "plain")]
                continue
            code, form = _unescaped(code), "plain"  # made below, for both
        named = _unescaped(code) if form in ("called", "dq-escaped") else code  # named for what it escapes
        base = ctx.value_base(named, aliases)
        if base is None:
            return f"no variable name would describe the value on line {doc.line_of(tag.start)}"
        if named in params and len(params) == 1:
            base = collection
        found_guards = guards[(code, form)]
        guard = None if None in found_guards else " || ".join(sorted(str(g) for g in found_guards))
        if form == "dq-escaped":
            base += "_ESCAPED"  # the escaped text, as bash kept it inside double quotes
        value = _ruby_value(code, form)
        names[(code, form)] = per_item_array(base, value if guard is None else f"({guard}) ? {value} : \"''\"")
        if (code, form) in escaped_as:
            names[(escaped_as[(code, form)], "called")] = names[(code, form)]
    conditions: dict[int, tuple[str, list[str]]] = {}
    flags: set[str] = set()  # conditions that read nothing of the item: one value, not one per item
    item_names = set(params).union(*(ruby.locals_defined(p) for p in prelude))
    counted = bool(plan.arrays)  # another array gives the loop its items
    for g in groups:
        found = _condition_array(ctx, g, aliases)
        if isinstance(found, str):
            return found
        base, values, ruby_value = found
        if counted and _reads_no_item(g, item_names, groups, inner_loops):
            # the old template tested it only when the list had items: so does the flag
            empty = '"false"' if values == ["true"] else '""'
            text = f"<%= ({expr}).to_a.empty? ? {empty} : {ruby_value} %>"
            name = ctx.name("loop-flag#" + text, base)
            plan.arrays.append((name, f"{name}={text}\n"))
            flags.add(name)
            conditions[g.start] = (name, values)
            continue
        conditions[g.start] = (per_item_array(base, ruby_value), values)
    if not plan.arrays:
        return "nothing in its body differs between items"
    # inner loop start -> ((code, element form) -> array, where each item's entries start)
    inner_names: dict[int, tuple[dict[tuple[str, str], str], str]] = {}
    for lp in inner_loops:
        found_inner = _inner_arrays(ctx, lp, groups, aliases, mapper, block_head, steps)
        if isinstance(found_inner, str):
            return found_inner
        inner_names[lp.group.start] = (found_inner[0], found_inner[1])
        plan.arrays += found_inner[2]
    only_code, only_form = next(iter(names)) if len(names) == 1 else ("", "")
    if only_form in ("called", "dq-escaped"):
        only_code = _unescaped(only_code)  # the item's own value, escaped: still one element per item
    simple = len(names) == 1 and not conditions and not inner_loops and only_code in params and len(params) == 1
    if simple:
        array = next(iter(names.values()))
        var = ctx.shell_name(params[0])
        ref = {array: var}
        head = f"for {var} in {_all_items(array, ctx.nounset)}; do\n"
    else:
        var = ctx.shell_name("i")
        ref = {name: f"{name}[${var}]" for name in per_item_arrays} | {name: name for name in flags}
        if per_item_arrays:
            first = per_item_arrays[0]
            listing = f'${{{first}[@]+"${{!{first}[@]}}"}}' if ctx.nounset else f'"${{!{first}[@]}}"'
            head = f"for {var} in {listing}; do\n"
        else:  # only inner loops: as many items as starts, less one
            starts = next(iter(inner_names.values()))[1]
            head = f"for (({var} = 0; {var} + 1 < ${{#{starts}[@]}}; {var}++)); do\n"
    lines = branches.tag_lines
    deeper = _body_indentation(doc, [(lines, group), *[(nested[g.start].tag_lines, g) for g in all_groups]])
    indent = _layout(doc, lines).indent
    plan.edits.append(Edit(lines[0][0], lines[0][1], f"{indent}{head}", ctx.codemod_id))
    plan.edits.append(Edit(lines[-1][0], lines[-1][1], f"{indent}done\n", ctx.codemod_id))
    tag_starts = {ls for ls, _ in lines} | {ls for g in all_groups for ls, _ in nested[g.start].tag_lines}
    plan.edits += [Edit(ls, ls, extra, ctx.codemod_id) for ls, extra in sorted(deeper.items()) if ls not in tag_starts]
    plan.consumed |= {t.start for t in group.tags}
    for tag in doc.tags_in(group.opener.end, group.end.start):  # per-item Ruby: now in every array's block
        if tag.kind == "control" and not any(tag in g.tags for g in all_groups):
            ls, le = tag_lines(doc, tag)
            plan.edits.append(Edit(ls, le, "", ctx.codemod_id))
            plan.consumed.add(tag.start)
    for tag in per_item:
        array = names[(tag.code.strip(), _element(forms[tag.start]))]
        text = _value_reference(doc, tag, ref[array], forms[tag.start])
        if forms[tag.start] == "words":
            plan.unquoted.setdefault(tag.code.strip(), text)
        plan.edits.append(Edit(tag.start, tag.end, text, ctx.codemod_id))
        plan.consumed.add(tag.start)
    for g in groups:
        name, values = conditions[g.start]
        subject = f"${name}" if name in flags else f"${{{ref[name]}}}"
        texts = [f'if [ "{subject}" = {values[0]} ]; then\n']
        for i in range(1, len(g.middles) + 1):
            texts.append(f'elif [ "{subject}" = {values[i]} ]; then\n' if i < len(values) else "else\n")
        texts.append("fi\n")
        g_lines = nested[g.start].tag_lines
        g_indent = _layout(doc, g_lines).indent
        for (ls, le), text in zip(g_lines, texts):
            plan.edits.append(Edit(ls, le, deeper.get(ls, "") + g_indent + text, ctx.codemod_id))
        plan.consumed |= {t.start for t in g.tags}
    for lp in inner_loops:
        entry_names, starts = inner_names[lp.group.start]
        j = ctx.shell_name("j")
        g_lines = nested[lp.group.start].tag_lines
        head = f"for (({j} = ${{{starts}[{var}]}}; {j} < ${{{starts}[{var} + 1]}}; {j}++)); do\n"
        for (ls, le), text in zip(g_lines, [head, "done\n"]):
            plan.edits.append(Edit(ls, le, deeper.get(ls, "") + _layout(doc, g_lines).indent + text, ctx.codemod_id))
        entry_ref = {name: f"{name}[${j}]" for name in entry_names.values()}
        for tag in lp.tags:
            form = _inner_form(ctx, tag, lp)
            text = _value_reference(doc, tag, entry_ref[entry_names[(tag.code.strip(), _element(form))]], form)
            if form == "words":
                plan.unquoted.setdefault(tag.code.strip(), text)
            plan.edits.append(Edit(tag.start, tag.end, text, ctx.codemod_id))
            plan.consumed.add(tag.start)
        plan.consumed |= {t.start for t in lp.group.tags}
        plan.inner.append(lp.group.start)
    return plan


#: an assignment to IFS anywhere in the script (``IFS=,``, ``local IFS=$'\\n'``, ``export IFS``)
_SETS_IFS = re.compile(r"(?<![\w$])(?:IFS\s*[+]?=|(?:export|local|declare|typeset|readonly)\b[^;&|\n]*\bIFS\b)")

#: an item's value escaped with Ruby's shellescape (``x.shellescape``, ``Shellwords.escape(x)``)
_SHELLESCAPE = re.compile(r"(?s).*?(?:\.to_s)?\.shellescape|Shellwords\s*\.\s*(?:shell)?escape\s*\(.*\)")

#: Ruby for where each item's elements start in a flat array, from each item's count (one more at the end)
_STARTS = ".inject([0]) { |at, n| at << at.last + n }"


def _inner_form(ctx: LoopContext, tag: ErbTag, lp: InnerLoop) -> str:
    numbers = _number_params(lp.expr, lp.method, lp.params)
    return _form(ctx, tag, numbers)


def _inner_arrays(ctx: LoopContext, lp: InnerLoop, groups: list[Group], aliases: dict[str, str], mapper: str,
                  block_head: str, steps: str
                  ) -> tuple[dict[tuple[str, str], str], str, list[tuple[str, str]]] | str:
    """The flat arrays of an inner loop (one per value its body reads, all items' entries in a
    row, one element per entry) and the array of where each item's entries start; the entries
    of an item whose conditions do not reach the loop are none, as the old template never ran
    it for that item."""
    guard = _branch_guard(lp.group.opener, groups)
    inner_mapper = f"({lp.expr}).each_with_index.map" if lp.method == "each_with_index" else f"({lp.expr}).map"
    head = f"|{', '.join(lp.params)}|"
    list_base = ctx.value_base(lp.expr, aliases)
    if list_base is None:
        return f"no variable name would describe the list on line {ctx.doc.line_of(lp.group.start)}"
    names: dict[tuple[str, str], str] = {}
    arrays: list[tuple[str, str]] = []

    def per_item(entries: str, flatten: str = "") -> str:
        """Ruby for the entries of all items in a row (none for an item the guard leaves out)."""
        if guard is not None:
            entries = f"({guard}) ? {entries} : []"
        return f"{mapper} {{ {block_head} {steps}{entries} }}.flatten(1){flatten}"

    for tag in lp.tags:
        code, form = tag.code.strip(), _element(_inner_form(ctx, tag, lp))
        if (code, form) in names:
            continue
        named = _unescaped(code) if form in ("called", "dq-escaped") else code
        base = list_base if named in lp.params and len(lp.params) == 1 else ctx.value_base(named, aliases)
        if base is None:
            return f"no variable name would describe the value on line {ctx.doc.line_of(tag.start)}"
        if form == "dq-escaped":
            base += "_ESCAPED"
        entries = f"{inner_mapper} {{ {head} {_ruby_value(code, form)} }}"
        text = f"(<%= {per_item(entries)}.join(\" \") %>)"
        name = ctx.name("loop-array#" + text, base)
        names[(code, form)] = name
        arrays.append((name, f"{name}={text}\n"))
    count = f"({lp.expr}).count" if guard is None else f"({guard}) ? ({lp.expr}).count : 0"
    s_text = f"(<%= {mapper} {{ {block_head} {steps}{count} }}{_STARTS}.join(\" \") %>)"
    starts = ctx.name("loop-array#" + s_text, list_base + "_START")
    plain = next(iter(names.values()), None)
    comment = (f"# item i's entries in {plain}: from {starts}[i] up to {starts}[i + 1]\n" if plain else
               f"# item i's entries: j from {starts}[i] up to {starts}[i + 1]\n")
    arrays.append((starts, f"{comment}{starts}={s_text}\n"))
    return names, starts, arrays


def _number_params(expr: str, method: str, params: list[str]) -> set[str]:
    """Block variables that hold integers: the item of a range (``(1..n).each``), the index of
    ``each_with_index``."""
    out = set()
    if method == "each_with_index" and len(params) >= 2:
        out.add(params[-1])
    bare = _blank_strings(expr.strip())
    if method != "each_pair" and re.fullmatch(r"\((.*)\)", bare, re.DOTALL):
        depth, inner = 0, bare[1:-1]
        for k, ch in enumerate(inner):
            depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(ch, 0)
            if depth == 0 and inner.startswith("..", k) and (k == 0 or inner[k - 1] != "."):
                out.add(params[0])
                break
    return out


def _form(ctx: LoopContext, tag: ErbTag, numbers: set[str]) -> str:
    """How an item's value is kept: ``words`` (printed unquoted where bash split it: each item's
    words), ``called`` (escaped by its own Ruby and unquoted: one word, which bash read back to the
    value), ``dq-escaped`` (escaped, inside double quotes, where bash took some backslashes off),
    else ``plain`` (one element per item: inside quotes, a number, a comment, arithmetic)."""
    place = place_of(ctx.doc, tag)
    if not isinstance(place, Place):  # a comment names the item with its element
        return "plain"
    code = tag.code.strip()
    if ctx.escaped(code) and place.quote in ("bare", "dq"):
        return "called" if place.quote == "bare" else "dq-escaped"
    if place.quote == "bare" and (place.splits or place.command_name) and not _number(code, numbers):
        return "words"
    return "plain"


def _number(code: str, numbers: set[str]) -> bool:
    """Whether the value is an integer: a number block variable, arithmetic on them, a count."""
    bare = strip_ruby_strings(code).strip()
    if re.search(r"\.(?:size|length|count|to_i)\s*\)*$", bare):
        return True
    for name in numbers:
        bare = re.sub(rf"(?<![\w.@$]){re.escape(name)}(?![\w?!])", "0", bare)
    return bool(re.fullmatch(r"[\d\s+\-*/%()]+", bare))


def _unescaped(code: str) -> str:
    """What an escaping call escapes (``x.shellescape``, ``Shellwords.escape(x)``, ``esc(x)``: ``x``)."""
    m = re.fullmatch(r"(.*?)(?:\.to_s)?\.shellescape", code, re.DOTALL) or re.fullmatch(
        r"[A-Za-z_][\w.:]*\s*\((.*)\)", code, re.DOTALL)
    return m.group(1).strip() if m else code


def _ruby_value(code: str, form: str) -> str:
    """Ruby for one item's element in the form ``form`` (``plain``, ``called``, ``dq-escaped``)."""
    wrapped = f"({code}\n)" if "#" in strip_ruby_strings(code) else f"({code})"
    if form == "called":
        return wrapped
    if form == "dq-escaped":  # as bash read it inside double quotes: \$ \` \" \\ and \newline taken off
        return f"{wrapped}.to_s.gsub(/\\\\([$`\"\\\\])/, '\\1').gsub(\"\\\\\\n\", '').shellescape"
    return f"{wrapped}.to_s.shellescape"


def _element(form: str) -> str:
    """The array element a form keeps: a value printed unquoted (``words``) is the item's value as
    it is, the element of ``plain`` (only its reference differs: unquoted, split by bash)."""
    return "plain" if form == "words" else form


def _value_reference(doc: Document, tag: ErbTag, subject: str, form: str) -> str:
    """What replaces an item's value: its element, quoted (``"${A[$i]}"``), or for a value the old
    script printed unquoted, where bash split it, the element unquoted (``${A[$i]}``, ``$ip``): bash
    splits the expansion at whitespace (the default IFS) where its parser split the rendered text."""
    place = place_of(doc, tag)
    if not isinstance(place, Place):  # a comment
        place = Place("dq", False, False)
    if form != "words":
        return _reference(doc, tag, place, subject)
    joins = re.match(rb"[A-Za-z0-9_\[]", doc.source[tag.end:tag.end + 1]) is not None
    return f"${subject}" if "[" not in subject and not joins else f"${{{subject}}}"


def _tests(g: Group) -> list[str]:
    """Each test of a conditional as a Ruby expression, true when its branch is the one taken
    among the tests so far (``unless x`` is ``!(x)``)."""
    out = []
    for tag in [g.opener, *g.middles]:
        code = re.sub(r"\s+then\s*$", "", tag.code.strip())
        m = re.match(r"(if|unless|elsif)\b(.*)", code, re.DOTALL)
        if m is None:  # a plain else
            continue
        out.append(f"!({m.group(2).strip()})" if m.group(1) == "unless" else f"({m.group(2).strip()})")
    return out


def _branch_guard(tag: ErbTag, groups: list[Group]) -> str | None:
    """Ruby that is true for the items whose rendering reached ``tag`` (None: all items)."""
    group = next((g for g in groups if g.opener.end <= tag.start < g.stop), None)
    if group is None:
        return None
    tests, branch = _tests(group), group.branch_at(tag.start)
    earlier = [f"!{t}" for t in tests[:branch]]
    return " && ".join(earlier + ([tests[branch]] if branch < len(tests) else []))


def _reads_no_item(g: Group, item_names: set[str], groups: list[Group], inner_loops: list[InnerLoop]) -> bool:
    """Whether a conditional in a loop body tests the same thing for every item (no block
    parameter, no per-item local), outside any other conditional or inner loop of the body (there
    the old template tested it only for some items)."""
    if any(ruby.identifiers(t.code) & item_names for t in g.tags):
        return False
    return not any(o is not g and o.opener.end <= g.start < o.stop for o in groups) and not any(
        lp.group.opener.end <= g.start < lp.group.stop for lp in inner_loops)


def _condition_array(ctx: LoopContext, g: Group, aliases: dict[str, str]) -> tuple[str, list[str], str] | str:
    """(name base, the values the bash ``if``/``elif`` test, Ruby for one item's value)."""
    tests = [g.opener, *[m for m in g.middles if re.match(r"elsif\b", m.code.strip())]]
    if any(not re.match(r"(?:if|unless|elsif)\b", t.code.strip()) for t in tests):
        return f"the conditional on line {ctx.doc.line_of(g.start)} is not an `if`/`unless`/`elsif`"
    conds = [re.sub(r"\s+then\s*$", "", re.sub(r"^(?:if|unless|elsif)\b", "", t.code.strip())).strip() for t in tests]
    if len(tests) == 1:
        cond = conds[0] if g.opener.code.strip().startswith("if") else f"!({conds[0]})"
        base = ctx.condition_base(g.opener.code.strip(), aliases)
        if base is None:
            return f"no variable name would describe the condition on line {ctx.doc.line_of(g.start)}"
        return base, ["true"], f'({cond}) ? "true" : "false"'
    found = ctx.selector_base([re.sub(r"\s+then\s*$", "", t.code.strip()) for t in tests], aliases)
    if found is None:
        return (f"the choice on line {ctx.doc.line_of(g.start)} is not between values of one setting "
                "(a bash test on a per-item value could not say which branch)")
    base, values = found
    if any(not re.fullmatch(r"[A-Za-z0-9_.,:/@%+-]+", v) for v in values):
        return f"the choice on line {ctx.doc.line_of(g.start)} compares with values that are not plain words"
    ruby_value = "".join(f"({c}) ? {_ruby_string(v)} : " for c, v in zip(conds, values)) + '""'
    return base, values, ruby_value


def _blank_strings(code: str) -> str:
    """The code with the inside of its string literals blanked, offsets kept (``"a|b"`` -> ``"___"``)."""
    return re.sub(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", lambda m: m.group(0)[0] + "_" * (len(m.group(0)) - 2)
                  + m.group(0)[-1], code)


def _ruby_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#").replace("\n", "\\n") + '"'


def _all_items(array: str, nounset: bool) -> str:
    return f'${{{array}[@]+"${{{array}[@]}}"}}' if nounset else f'"${{{array}[@]}}"'


def _alone_on_line(doc: Document, tag: ErbTag) -> bool:
    ls, le = tag_lines(doc, tag)
    return doc.masked[ls:le].strip() == doc.masked[tag.start:tag.end].strip()


def _layout(doc: Document, lines: list[tuple[int, int]]) -> Layout:
    """``codemods._erb_indent``'s layout, except at the top level of the script: tags at column 0
    around an indented body there make a loop at column 0 (its body is already one level in)."""
    shape = indent_layout(doc, lines)
    top = not doc.masked[lines[0][0]:lines[0][1]][:1].strip() and doc.source[lines[0][0]:lines[0][0] + 1] == b"<"
    node = doc.root.descendant_for_byte_range(lines[0][0], lines[0][0])
    at_top = node is None or node.type == "program" or (node.parent is not None and node.parent.type == "program")
    if top and at_top and shape.indent and shape.indents_body:
        return Layout("", False, shape.unit)
    return shape


def _body_indentation(doc: Document, blocks: list[tuple[list[tuple[int, int]], Group]]) -> dict[int, str]:
    """Indentation to add at the start of body lines (``codemods._erb_indent``'s rules): a body
    written at the level of its ERB tags moves one level in, under the loop and under each ``if``
    inside it; tag lines, blank lines and lines whose leading whitespace is part of a value
    (heredoc bodies, multi-line strings) are left."""
    fixed = fixed_lines(doc)
    deeper: dict[int, str] = {}
    for lines, _ in blocks:
        shape = _layout(doc, lines)
        if not shape.indents_body:
            continue
        pos, stop = lines[0][1], lines[-1][0]
        while pos < stop:
            le = max(doc.line_end(pos), pos + 1)
            own = any(ls == pos for ls, _ in lines)  # an `elif`/`else` line of this block itself
            if not own and pos not in fixed and (doc.masked[pos:le].strip() or doc.tags_in(pos, le)):
                deeper[pos] = deeper.get(pos, "") + shape.unit
            pos = le
    return deeper


def _reference(doc: Document, tag: ErbTag, place: Place, subject: str) -> str:
    """``"${A[$i]}"``, ``${A[$i]}`` inside double quotes, ``'"${A[$i]}"'`` inside single quotes;
    a plain loop variable without braces where nothing follows that would join its name."""
    joins = re.match(rb"[A-Za-z0-9_]", doc.source[tag.end:tag.end + 1]) is not None
    expansion = f"${subject}" if "[" not in subject and not (joins and place.quote == "dq") else f"${{{subject}}}"
    if place.quote == "dq":
        return expansion
    if place.quote == "sq":
        return f"'\"{expansion}\"'"
    return f'"{expansion}"'


# -- loops that write words into one command ------------------------------------------------------
@dataclass
class WordsPlan:
    """An ERB loop inside a command's arguments, as one array of the words it rendered."""

    group: Group
    base: str
    ruby: str  # Ruby for the array's words, shell-escaped and joined
    start: int  # the bytes the array's expansion replaces
    stop: int
    form: str  # "same": on the command's line; "own": tag lines of a continued command
    node_start: int  # a byte of the command, to find its statement


#: what the literal text of a loop body may hold: words, spaces, quotes, continuations
_PLAIN_BODY = re.compile(r"""[A-Za-z0-9_@%+=:,./\-\s"'\\]*""")


def plan_inline_loop(ctx: LoopContext, group: Group, original_masked: bytes) -> WordsPlan | str:
    """``cmd <% (1..n).each do |i| %> -p worker_<%= i %><% end %> --x`` (or the loop's tags on
    their own lines of a backslash-continued command): the loop rendered words of one command.
    The env template renders the same text per item, and Ruby's ``shellsplit`` makes of it the
    words bash made (quotes honoured; the literal text may hold no expansion, glob or brace)."""
    doc = ctx.doc
    opener = _OPENER.fullmatch(_blank_strings(group.opener.code.strip()))
    if opener is None or group.end is None:
        return "its opening tag is not a plain `LIST.each do |item|`"
    if any(g for g in ctx.structure.groups if group.opener.end <= g.start and g.stop <= group.end.start):
        return "it holds ERB blocks of its own inside a command's arguments"
    code = group.opener.code.strip()
    expr, method = code[:opener.end("expr")].strip(), opener.group("method")
    params = [p.strip() for p in opener.group("params").split(",") if p.strip()]
    rest = code[opener.start("rest"):].strip()
    inside = doc.tags_in(group.opener.end, group.end.start)
    if any(t.kind == "control" for t in inside):
        return "it runs Ruby per item inside a command's arguments"
    own = all(t.trims_newline and alone_on_its_lines(doc, t, original_masked) for t in group.tags)
    if own:
        first = doc.line_start(group.start)
        if first == 0 or not doc.masked[doc.line_start(first - 1):first].rstrip().endswith(b"\\"):
            return "its body is not whole shell statements of one block"
        start, stop = first, tag_lines(doc, group.end)[1]
        body_lines = doc.masked[group.opener.end:group.end.start].decode("utf-8", "replace").splitlines()
        if any(line.strip() and not line.rstrip().endswith("\\") for line in body_lines):
            return "the lines it writes do not all continue the command (a trailing backslash)"
    else:
        start, stop = group.start, group.stop
        masked = doc.masked
        if masked[start - 1:start] not in (b" ", b"\t") or masked[stop:stop + 1] not in (b" ", b"\t", b"\n", b"\\"):
            return "its body is not whole shell statements of one block"
    node = command_around(doc, group.start, group.stop)
    if node is None:
        return "its body is not whole shell statements of one block"
    # what one item renders: with -%> tags on their own lines, the lines between them
    pieces, pos = [], tag_lines(doc, group.opener)[1] if own else group.opener.end
    for tag in inside:
        pieces.append(("text", doc.slice(pos, tag.start)))
        pieces.append(("code", tag.code.strip()))
        pos = tag.end
    pieces.append(("text", doc.slice(pos, tag_lines(doc, group.end)[0] if own else group.end.start)))
    texts = "".join(t for kind, t in pieces if kind == "text")
    if not _PLAIN_BODY.fullmatch(texts) or re.search(r"\\[^\n]", texts):
        return ("the words it writes hold shell syntax (an expansion, a glob, a brace or an escape) that bash "
                "read when the script ran")
    ruby_parts = []
    for kind, text in pieces:
        if kind == "code":
            ruby_parts.append(f"({text}\n).to_s" if "#" in strip_ruby_strings(text) else f"({text}).to_s")
        elif text:
            ruby_parts.append(_ruby_string(re.sub(r"\\\n", " ", text)))
    mapper = f"{expr}.each_with_index.map" if method == "each_with_index" else f"{expr}.map"
    steps = f"{rest}; " if rest and "\n" not in rest else (f"{rest}\n" if rest else "")
    body = " + ".join(ruby_parts) or '""'
    ruby_text = (f"{mapper} {{ |{', '.join(params)}| {steps}{body} }}.join.shellsplit"
                 ".map(&:shellescape).join(\" \")")
    base = ctx.value_base(expr, {})
    if base is None:
        return "no variable name would describe the words it writes"
    return WordsPlan(group, base + "_ARGS", ruby_text, start, stop, "own" if own else "same", node.start_byte)
