"""Hand-written nasty inputs for log-pipelines: each is either rewritten so that (run with real
bash) every line still reaches the files it reached, or left alone with a finding that says why."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from codemods.log_pipelines import LogPipelines
from tests.support.codemod_case import assert_codemod, assert_unchanged, run_codemods
from tests.support.sandbox import Sandbox

CM = LogPipelines()
LOG = "/var/vcap/sys/log/j"


def _logs(box: Sandbox, text: str) -> tuple[dict[str, str], subprocess.CompletedProcess]:
    """Run a script with real bash; the log files under /var/vcap/sys/log, by relative name."""
    script = box.install("/var/vcap/jobs/j/bin/j_ctl", text)
    proc = box.run(script)
    root = box.path("/var/vcap/sys/log")
    last, since = None, time.monotonic()
    deadline = since + 8
    while time.monotonic() < deadline:  # process substitutions finish after the script exits
        state = tuple(sorted((str(p), p.stat().st_size) for p in root.rglob("*") if p.is_file()))
        if state != last:
            last, since = state, time.monotonic()
        elif time.monotonic() - since > 0.25:
            break
        time.sleep(0.05)
    files = {str(p.relative_to(root)): p.read_text() for p in root.rglob("*") if p.is_file()}
    return files, proc


def assert_same_lines(tmp_path: Path, before: str, after: str) -> None:
    """Every line each log file got before, it gets after; the new script starts no plumbing."""
    old, _ = _logs(Sandbox(tmp_path / "before"), before)
    box = Sandbox(tmp_path / "after")
    new, _ = _logs(box, after)
    assert old, "the old script wrote no log file"
    for name, content in old.items():
        for line in content.splitlines():
            assert any(line in n for n in new.get(name, "").splitlines()), (name, line, new)
    assert not {"tee", "logger", "awk", "sed", "perl"} & set(box.started()), box.started()


def rewrite(before: str, **kwargs):
    outcome = run_codemods([CM], before, **kwargs)
    assert not outcome.messages("error"), outcome.findings
    return outcome


# -- rewritten, behaviour kept ---------------------------------------------------------------------
def test_quoted_path_with_spaces(tmp_path: Path) -> None:
    before = 'exec > >(tee -a "/var/vcap/sys/log/j/my log.log" | logger -t x)\necho one\n'
    outcome = assert_codemod(
        CM, before,
        'mkdir -p "/var/vcap/sys/log/j"\nexec >> "/var/vcap/sys/log/j/my log.log"\necho one\n')
    assert_same_lines(tmp_path, "mkdir -p /var/vcap/sys/log/j\n" + before, outcome.text)


def test_quoted_erb_path_with_spaces_is_kept_verbatim() -> None:
    assert_codemod(
        CM,
        'exec > >(tee -a "/var/vcap/sys/log/<%= p("d") %>/a b.log" | logger)\necho x\n',
        'mkdir -p "/var/vcap/sys/log/<%= p("d") %>"\nexec >> "/var/vcap/sys/log/<%= p("d") %>/a b.log"\necho x\n',
    )


def test_tee_without_append_keeps_truncation(tmp_path: Path) -> None:
    before = f"mkdir -p {LOG}\necho old > {LOG}/t.log\nexec > >(tee {LOG}/t.log | logger)\necho new\n"
    outcome = assert_codemod(CM, before, f"mkdir -p {LOG}\necho old > {LOG}/t.log\nexec > {LOG}/t.log\necho new\n")
    new, _ = _logs(Sandbox(tmp_path), outcome.text)
    assert new["j/t.log"] == "new\n"


def test_exec_stdout_fanout_then_stderr_into_it(tmp_path: Path) -> None:
    before = f"mkdir -p {LOG}\nexec 1> >(tee -a {LOG}/o.log | logger -t x)\nexec 2>&1\necho out\necho err >&2\n"
    outcome = assert_codemod(CM, before, f"mkdir -p {LOG}\nexec 1>> {LOG}/o.log\nexec 2>&1\necho out\necho err >&2\n")
    assert_same_lines(tmp_path, before, outcome.text)


def test_here_string_on_the_piped_command(tmp_path: Path) -> None:
    before = f"mkdir -p {LOG}\ncat <<< 'hello' 2>&1 | tee -a {LOG}/h.log | logger\necho done\n"
    outcome = assert_codemod(CM, before, f"mkdir -p {LOG}\ncat <<< 'hello' >> {LOG}/h.log 2>&1\necho done\n")
    assert_same_lines(tmp_path, before, outcome.text)


def test_bin_sh_script_gets_posix_redirections_only() -> None:
    outcome = assert_codemod(
        CM,
        f"#!/bin/sh\n/bin/migrate 2>&1 | tee -a {LOG}/m.log | logger -t m\necho ok\n",
        f"#!/bin/sh\nmkdir -p {LOG}\n/bin/migrate >> {LOG}/m.log 2>&1\necho ok\n",
    )
    assert subprocess.run(["sh", "-n"], input=outcome.text.encode()).returncode == 0


def test_function_called_through_a_variable_keeps_the_prefixer() -> None:
    outcome = rewrite(
        "f=stamp\nstamp() { awk '{ print strftime() $0 }'; }\n"
        f"exec > >(stamp >> {LOG}/x.log)\n/bin/x | $f > /tmp/y\n")
    assert "stamp() {" in outcome.text and f"exec >> {LOG}/x.log" in outcome.text


# -- bugs found: a folder created on a shared line ------------------------------------------------
@pytest.mark.parametrize("before", [
    f"set -e\nif true; then exec > >(tee -a {LOG}/x.log | logger -t x); fi\necho hi\n",
    f"set -e\ncase start in\n  start) exec > >(tee -a {LOG}/x.log | logger -t x) ;;\nesac\necho hi\n",
])
def test_folder_is_made_even_when_the_fanout_shares_its_line(tmp_path: Path, before: str) -> None:
    """Was: no `mkdir -p` when the statement shared its line, so under `set -e` the plain
    `exec >> FILE` stopped the script on a fresh VM where the old fan-out did not."""
    outcome = rewrite(before)
    assert f"mkdir -p {LOG}; exec >> {LOG}/x.log" in outcome.text, outcome.text
    new, proc = _logs(Sandbox(tmp_path), outcome.text)
    assert proc.returncode == 0, proc.stderr
    assert new == {"j/x.log": "hi\n"}
    assert run_codemods([CM], outcome.text, dedent=False).text == outcome.text


# -- bugs found: tee's copy on a stdout that already goes to a log file ----------------------------
@pytest.mark.parametrize("before", [
    f"mkdir -p {LOG}\nexec >> {LOG}/ctl.log\n/bin/echo migrated | tee -a {LOG}/m.log\necho hi\n",
    f"mkdir -p {LOG}\nexec > >(tee -a {LOG}/ctl.log | logger)\n/bin/echo migrated 2>&1 | tee -a {LOG}/m.log\necho hi\n",
    f"mkdir -p {LOG}\nexec > >(tee -a {LOG}/ctl.log | logger)\nexec 2> >(tee -a {LOG}/m.log)\necho migrated >&2\n",
    f"mkdir -p {LOG}\nexec 1> >(tee -a {LOG}/ctl.log | logger) 2> >(tee -a {LOG}/m.log)\necho migrated >&2\n",
])
def test_copy_to_a_stdout_already_sent_to_a_log_file_is_not_dropped(tmp_path: Path, before: str) -> None:
    """Was: `cmd | tee -a m.log` after `exec >> ctl.log` became `cmd >> m.log`, and the lines no
    longer reached ctl.log (tee's copy went to the script's stdout, i.e. ctl.log). The same for
    `exec 2> >(tee -a f)`: tee writes its copy to the script's stdout, not stderr."""
    outcome = rewrite(before)
    assert "tee -a /var/vcap/sys/log/j/m.log" in outcome.text
    assert any("may send to a log file" in m for m in outcome.messages("review")), outcome.findings
    old, _ = _logs(Sandbox(tmp_path / "before"), before)
    new, _ = _logs(Sandbox(tmp_path / "after"), outcome.text)
    assert "migrated" in old["j/ctl.log"] and "migrated" in new["j/ctl.log"]
    assert "migrated" in new["j/m.log"]


def test_copy_to_an_untouched_stdout_is_still_dropped() -> None:
    outcome = assert_codemod(CM, f"/bin/x | tee -a {LOG}/m.log\necho hi\n", f"mkdir -p {LOG}\n/bin/x >> {LOG}/m.log\necho hi\n")
    assert any("that copy is dropped" in m for m in outcome.messages("info"))


def test_fanout_inside_an_uncalled_function_does_not_count_as_earlier() -> None:
    outcome = rewrite(
        f"never() {{\n  exec > >(tee -a {LOG}/ctl.log | logger)\n}}\n/bin/x | tee -a {LOG}/m.log\necho hi\n")
    assert f"/bin/x >> {LOG}/m.log" in outcome.text


# -- bugs found: an exit status that is passed on -------------------------------------------------
@pytest.mark.parametrize("before,why", [
    (f"run() {{\n  /bin/migrate 2>&1 | tee -a {LOG}/m.log | logger\n}}\nrun || exit 1\necho hi\n", "function run"),
    (f"case $1 in\n  start)\n    /bin/migrate 2>&1 | tee -a {LOG}/m.log | logger\n    ;;\nesac\n", "script's last"),
    (f"if [ -x /bin/migrate ]; then\n  /bin/migrate 2>&1 | tee -a {LOG}/m.log | logger\nelse\n  echo no\nfi\n", "script's last"),
    (f"/bin/migrate 2>&1 | tee -a {LOG}/m.log | logger\nexit\n", "bare 'exit'"),
    (f"/bin/migrate 2>&1 | tee -a {LOG}/m.log | logger\nrc=${{PIPESTATUS[0]}}\necho $rc\n", "PIPESTATUS"),
    (f"# no pipefail here\n/bin/migrate 2>&1 | tee -a {LOG}/m.log | logger\n", "script's last"),
    (f"set +o pipefail\n/bin/migrate 2>&1 | tee -a {LOG}/m.log | logger\n", "script's last"),
])
def test_pipeline_whose_status_is_passed_on_is_left_alone(before: str, why: str) -> None:
    """Was rewritten: `cmd | tee | logger` has logger's status (0); `cmd >> f` has cmd's."""
    outcome = assert_unchanged(CM, before)
    assert any(why in m for m in outcome.messages("review")), outcome.findings


def test_pipeline_followed_by_other_code_in_a_function_is_rewritten() -> None:
    assert_codemod(
        CM,
        f"run() {{\n  /bin/migrate 2>&1 | tee -a {LOG}/m.log | logger\n  echo done\n}}\nrun\necho hi\n",
        f"run() {{\n  mkdir -p {LOG}\n  /bin/migrate >> {LOG}/m.log 2>&1\n  echo done\n}}\nrun\necho hi\n",
    )


def test_pipefail_set_before_makes_the_status_the_same() -> None:
    outcome = rewrite(f"set -euo pipefail\nrun() {{\n  /bin/migrate 2>&1 | tee -a {LOG}/m.log | logger\n}}\nrun\n")
    assert f"/bin/migrate >> {LOG}/m.log 2>&1" in outcome.text


# -- bug found: a statement the parser misreads ------------------------------------------------------
def test_pipeline_before_a_continued_exec_fanout_is_not_misread() -> None:
    """tree-sitter-bash reads `a | tee f | logger` + newline + `exec > \\` + `>(...)` as one
    statement (`exec` an argument of logger). Was: a first pass acting on that tree, a second pass
    on the fixed text doing more, so the engine rejected the whole file as not idempotent."""
    before = textwrap.dedent(f"""\
        set -o pipefail
        mkdir -p {LOG}
        /bin/a 2>&1 | tee -a {LOG}/p.log | logger
        exec > \\
          >(
            tee -a {LOG}/a.log | logger
          )
        echo hi
        """)
    outcome = assert_unchanged(CM, before)
    assert any("past the end of its line" in m for m in outcome.messages("review")), outcome.findings
    assert not outcome.messages("error")


# -- left alone, with a finding (or not plumbing at all) -----------------------------------------------
@pytest.mark.parametrize("before,why", [
    (f"exec &> >(tee -a {LOG}/x.log | logger -t x)\necho hi\n", "process substitution"),
    (f"exec >& >(tee -a {LOG}/x.log | logger -t x)\necho hi\n", "process substitution"),
    (f"exec > >(tee -a >(tee -a >(logger) >> {LOG}/y.log) >> {LOG}/x.log)\necho hi\n", "several files"),
    (f"if /bin/foo 2>&1 | tee -a {LOG}/x.log | logger; then echo ok; fi\necho hi\n", "condition"),
    (f"while /bin/foo 2>&1 | tee -a {LOG}/x.log | logger; do sleep 1; done\necho hi\n", "exit status"),
    (f"/bin/foo 2>&1 | tee -a {LOG}/x.log | logger || echo failed\necho hi\n", "exit status"),
    (f"/bin/a && /bin/foo 2>&1 | tee -a {LOG}/x.log | logger\necho hi\n", "unusual"),
    (f"cat <<EOS | tee -a {LOG}/x.log | logger\nhello\nEOS\necho hi\n", "exit status"),
    (f"/bin/foo 2>&1 >/dev/null | tee -a {LOG}/x.log | logger\necho hi\n", "its own stdout"),
    (f"exec > >(tee -a {LOG}/x.log | sed -u 's/secret/***/' >> {LOG}/y.log)\necho hi\n", "unknown stage"),
])
def test_left_alone_with_a_finding(before: str, why: str) -> None:
    outcome = assert_unchanged(CM, before)
    assert any(why in m for m in outcome.messages("review")), outcome.findings


@pytest.mark.parametrize("before", [
    f"diff <(ls) >(tee -a {LOG}/x.log | logger -t x)\necho hi\n",
    f"x=$(/bin/foo 2>&1 | tee -a {LOG}/x.log | logger -t x)\necho hi\n",
])
def test_not_a_redirect_or_inside_a_substitution_is_not_touched(before: str) -> None:
    assert_unchanged(CM, before)


# -- bugs found: a "prefixer" that also writes elsewhere ---------------------------------------------
@pytest.mark.parametrize("before,other", [
    (f"""exec > >(awk '{{ print strftime("[%F] ") $0 > "{LOG}/other.log"; print }}' >> {LOG}/x.log)\necho hi\n""",
     "j/other.log"),
    (f"""exec > >(sed -u "s/^/[$(date +%F)] /w {LOG}/copy.log" >> {LOG}/x.log)\necho hi\n""", "j/copy.log"),
    (f"""exec 2>> {LOG}/err.log\nexec > >(perl -ne 'use POSIX "strftime"; $|=1; print STDERR $_; print strftime("[%F] ", localtime), $_' >> {LOG}/x.log)\necho hi\n""",
     "j/err.log"),
])
def test_prefixer_that_also_writes_elsewhere_is_kept(tmp_path: Path, before: str, other: str) -> None:
    """Was: any awk/sed/perl with a date in it counted as a prefixer and went, together with the
    file it wrote (awk `print > "f"`, sed `w f`, perl `print STDERR`)."""
    before = f"mkdir -p {LOG}\n" + before
    outcome = assert_unchanged(CM, before)
    assert any("unknown stage" in m for m in outcome.messages("review")), outcome.findings
    old, _ = _logs(Sandbox(tmp_path), before)
    assert "hi" in old[other]


def test_helper_whose_stderr_tee_copies_into_its_stdout_log_is_left_alone(tmp_path: Path) -> None:
    """Was: `exec > >(tee -a o.log | logger)` then `exec 2> >(tee -a e.log)` inside a helper became
    two plain redirections; stderr lines, which tee also copied into o.log, no longer reached it."""
    before = textwrap.dedent(f"""\
        log_it() {{
          exec > >(tee -a "$1/o.log" | logger)
          exec 2> >(tee -a "$1/e.log")
        }}
        mkdir -p {LOG}
        log_it {LOG}
        echo oops >&2
        """)
    outcome = assert_unchanged(CM, before)
    assert any("helper's tee" in m for m in outcome.messages("review")), outcome.findings
    old, _ = _logs(Sandbox(tmp_path), before)
    assert "oops" in old["j/o.log"] and "oops" in old["j/e.log"]


# -- bugs found: helper arguments that cannot be put into a plain redirect -----------------------------
def test_helper_argument_with_a_space_into_an_unquoted_path_is_left_alone() -> None:
    """Was: `exec >> /var/vcap/sys/log/my dir/o.log`, which makes bash exec the command `dir/o.log`."""
    outcome = assert_unchanged(
        CM, "log_it() {\n  exec > >(tee -a >(logger) >> $1/o.log)\n}\nlog_it '/var/vcap/sys/log/my dir'\necho hi\n")
    assert any("cannot work out which file" in m for m in outcome.messages("review")), outcome.findings
    assert not outcome.messages("info"), outcome.findings


def test_helper_called_with_all_arguments_is_left_alone() -> None:
    """Was: `exec >> "$LOG_DIR/$@.log"`: "$@" is every argument of the script, the helper read one."""
    outcome = assert_unchanged(
        CM, 'log_it() {\n  exec > >(tee -a >(logger) >> "$LOG_DIR/$1.log")\n}\nLOG_DIR=/l\nlog_it "$@"\necho hi\n')
    assert any("cannot work out which file" in m for m in outcome.messages("review")), outcome.findings


def test_helper_argument_with_a_space_into_a_quoted_path_is_rewritten() -> None:
    assert_codemod(
        CM,
        "log_it() {\n  exec > >(tee -a >(logger) >> \"$1/o.log\")\n}\nlog_it '/var/vcap/sys/log/my dir'\necho hi\n",
        'mkdir -p "/var/vcap/sys/log/my dir"\nexec >> "/var/vcap/sys/log/my dir/o.log"\necho hi\n',
    )


# -- bug found: a log folder cut out of the middle of an ERB tag -------------------------------------------
@pytest.mark.parametrize("path", ['<%= p("dir") + "/x.log" %>', '/var/vcap/sys/log/<%= p("sub/dir") %>'])
def test_erb_computed_path_gets_no_mkdir_cut_from_its_tag(path: str) -> None:
    """Was: `mkdir -p <%= p("dir") + "` - the folder split at a `/` inside the Ruby code."""
    outcome = rewrite(f"exec > >(tee -a {path} | logger)\necho hi\n")
    assert outcome.text == f"exec >> {path}\necho hi\n"
    assert any("computed by ERB" in m for m in outcome.messages("review")), outcome.findings


# -- bug found: dropping redirects from a continued command left lines holding only `\` -------------------
@pytest.mark.parametrize("before,after", [
    ("/bin/x \\\n  > >(logger -t x) \\\n  2> >(logger -t y)\necho hi\n", "/bin/x\necho hi\n"),
    ("/bin/x \\\n  -flag \\\n  > >(logger -t x) \\\n  -other\necho hi\n", "/bin/x \\\n  -flag \\\n  -other\necho hi\n"),
    ("/bin/x \\\n  2> >(logger -t y) \\\n  -flag\necho hi\n", "/bin/x \\\n  -flag\necho hi\n"),
])
def test_syslog_only_redirects_of_a_continued_hook_command_go_with_their_lines(before: str, after: str) -> None:
    """Was: `/bin/x \\` + a line with only ` \\` + an empty line."""
    assert_codemod(CM, before, after, script="bin/post-start", source="post-start.erb")


# -- bug found: arguments written after a redirect were dropped with it -------------------------------------
def test_arguments_after_a_fanout_redirect_are_kept(tmp_path: Path) -> None:
    """tree-sitter puts words after a redirect's destination into the redirect node; bash passes
    them to the command. Was: `/bin/x >> FILE` without `-other arg2`."""
    before = f"mkdir -p {LOG}\n/bin/echo one > >(tee -a {LOG}/a.log | logger) two three\necho hi\n"
    outcome = assert_codemod(CM, before, f"mkdir -p {LOG}\n/bin/echo one >> {LOG}/a.log two three\necho hi\n")
    new, _ = _logs(Sandbox(tmp_path), outcome.text)
    assert new["j/a.log"] == "one two three\n"


def test_arguments_after_a_redirect_on_a_piped_command_leave_it_alone() -> None:
    outcome = assert_unchanged(CM, f"/bin/x 2>&1 -flag | tee -a {LOG}/m.log | logger\necho hi\n")
    assert any("arguments after a redirect" in m for m in outcome.messages("review"))


def test_stderr_tee_copy_is_said_to_go_to_stdout() -> None:
    """tee inside `2> >(...)` writes its copy to the script's stdout; the note said stderr."""
    outcome = rewrite(f"exec 2> >(tee -a {LOG}/e.log)\necho hi\n")
    assert f"exec 2>> {LOG}/e.log" in outcome.text
    assert any("stderr was also copied to the script's inherited stdout" in m for m in outcome.messages("info"))


# -- bug found: a helper library lost the functions other scripts call --------------------------------------
LIBRARY = """\
#!/bin/bash
prepend_datetime() {
  awk -W interactive '{ system("echo -n [$(date +%F)]"); print " " $0 }'
}
tee_output_to_sys_log() {
  exec > >(tee -a >(logger -t x) | prepend_datetime >> "$1/x.log")
}
run_migrations() {
  /bin/migrate 2>&1 | tee -a /var/vcap/sys/log/j/m.log | logger
  echo done
}
"""


def test_helper_library_keeps_the_functions_its_callers_use() -> None:
    """Was: rewriting one pipeline in `helpers/ctl_utils.sh` also removed `tee_output_to_sys_log`
    and `prepend_datetime` as "unused", though the job's ctl script sources the file and calls them."""
    outcome = rewrite(LIBRARY, script="helpers/ctl_utils.sh", source="helpers/ctl_utils.sh")
    assert "/bin/migrate >> /var/vcap/sys/log/j/m.log 2>&1" in outcome.text
    assert "tee_output_to_sys_log() {" in outcome.text and "prepend_datetime() {" in outcome.text


def test_bin_script_sourced_by_another_script_keeps_its_functions() -> None:
    outcome = rewrite(LIBRARY, script="bin/utils.sh", source="utils.sh",
                      files={"ctl.erb": "source /var/vcap/jobs/job/bin/utils.sh\ntee_output_to_sys_log /l\n"})
    assert "tee_output_to_sys_log() {" in outcome.text and "prepend_datetime() {" in outcome.text


def test_ctl_script_still_drops_its_own_unused_prefixer() -> None:
    outcome = rewrite(LIBRARY.replace("/bin/migrate", "exec > >(prepend_datetime >> /l/x.log)\n  /bin/migrate"))
    assert "prepend_datetime() {" not in outcome.text


@pytest.mark.parametrize("before,after", [
    (f"f() {{ echo in-f; }} > >(tee -a {LOG}/x.log | logger)\nf\n",
     f"mkdir -p {LOG}\nf() {{ echo in-f; }} >> {LOG}/x.log\nf\n"),
    (f"f() {{ echo s; exec > >(tee -a {LOG}/x.log | logger); }}\nf\necho hi\n",
     f"f() {{ echo s; mkdir -p {LOG}; exec >> {LOG}/x.log; }}\nf\necho hi\n"),
    (f"while /bin/echo w > >(tee -a {LOG}/x.log | logger); do break; done\necho hi\n",
     f"while mkdir -p {LOG}; /bin/echo w >> {LOG}/x.log; do break; done\necho hi\n"),
])
def test_folder_on_a_shared_line_goes_where_bash_runs_it_first(tmp_path: Path, before: str, after: str) -> None:
    """The first fix put `mkdir -p X; ` before the redirect of `f() { ...; } > >(...)`, which
    does not parse; it goes before the definition."""
    outcome = assert_codemod(CM, before, after)
    assert_same_lines(tmp_path, before.replace("f\n", f"mkdir -p {LOG}\nf\n", 1) if before.startswith("f() { echo") else
                      f"mkdir -p {LOG}\n" + before, outcome.text)


# -- bug found: a folder made in one case arm counted for another -------------------------------------------
def test_each_case_arm_creates_its_own_log_folder(tmp_path: Path) -> None:
    """Was: the `mkdir -p` the codemod added in the `start` arm counted for the `other` arm too, so
    `other` got a plain `exec >> FILE` into a folder that may not exist."""
    before = textwrap.dedent(f"""\
        set -e
        case other in
          start)
            exec > >(tee -a {LOG}/a.log | logger)
            ;;
          other)
            exec > >(tee -a {LOG}/b.log | logger)
            ;;
        esac
        echo hi
        """)
    outcome = rewrite(before)
    assert outcome.text.count(f"mkdir -p {LOG}") == 2, outcome.text
    new, proc = _logs(Sandbox(tmp_path), outcome.text)
    assert proc.returncode == 0 and new == {"j/b.log": "hi\n"}, (proc.stderr, new)


def test_a_folder_this_pass_creates_earlier_is_not_created_again() -> None:
    outcome = rewrite(f"exec > >(tee -a {LOG}/a.log | logger)\nexec 2> >(tee -a \"{LOG}\"/b.log | logger)\necho hi\n")
    assert outcome.text.count("mkdir -p") == 1, outcome.text
