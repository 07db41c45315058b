"""The equivalence harness catches what a broken migration does, and accepts only what a codemod
declares: each test hands it an original and a deliberately changed job and reads its verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.equivalence import JobPair, compare_jobs, compare_scripts, declared_for
from tests.support.erb_render import ruby_available

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")

HEAD = """#!/bin/bash
RUN_DIR=/var/vcap/sys/run/j
LOG_DIR=/var/vcap/sys/log/j
PIDFILE=$RUN_DIR/j.pid
"""


def _job(root: Path, script: str, properties: dict, extra: dict[str, str]) -> Path:
    job = root / "jobs" / "j"
    (job / "templates").mkdir(parents=True)
    templates = {"j_ctl.erb": "bin/j_ctl", **{name: f"config/{name.removesuffix('.erb')}" for name in extra}}
    (job / "spec").write_text(yaml.safe_dump({"name": "j", "templates": templates, "packages": ["j"],
                                              "properties": properties}))
    (job / "templates" / "j_ctl.erb").write_text(script)
    for name, text in extra.items():
        (job / "templates" / name).write_text(text)
    return job


def verdicts(tmp_path: Path, old: str, new: str, codemods: tuple[str, ...], properties: dict | None = None,
             new_extra: dict[str, str] | None = None, timeout: float = 5.0):
    pair = JobPair("j", _job(tmp_path / "old", old, properties or {}, {}),
                   _job(tmp_path / "new", new, properties or {}, new_extra or {}), declared_for(codemods))
    return compare_jobs([pair], timeout=timeout)


def one(tmp_path: Path, *args, **kwargs):
    found = verdicts(tmp_path, *args, **kwargs)
    assert {v.context for v in found} == {"defaults", "flipped"}
    return found[0]


CTL = HEAD + """
case $1 in
  start)
    mkdir -p $RUN_DIR
    echo $$ > $PIDFILE
    exec /var/vcap/packages/j/bin/j --port 80 --pprof
    ;;
  stop)
    kill $(cat $PIDFILE)
    rm -f $PIDFILE
    ;;
esac
"""
SIPID = CTL.replace("echo $$ > $PIDFILE", '/var/vcap/packages/sipid/bin/sipid claim --pid "$$" --pid-file "$PIDFILE"').replace(
    "kill $(cat $PIDFILE)\n    rm -f $PIDFILE",
    'if [ -f "$PIDFILE" ]; then\n      /var/vcap/packages/sipid/bin/sipid kill --pid-file "$PIDFILE" --show-stacks\n    fi')


def test_the_sipid_rewrite_is_equivalent_under_its_own_declaration(tmp_path: Path) -> None:
    assert one(tmp_path, CTL, SIPID, ("sipid-pidfiles",)).status == "equivalent"


def test_the_same_rewrite_differs_when_only_erb_to_config_changed_the_job(tmp_path: Path) -> None:
    verdict = one(tmp_path, CTL, SIPID, ("erb-to-config",))
    assert verdict.status == "differing"
    assert "sipid claim --pid '<pid1>' --pid-file /var/vcap/sys/run/j/j.pid" in verdict.detail


def test_a_dropped_argument_is_named_with_both_argv(tmp_path: Path) -> None:
    verdict = one(tmp_path, CTL, CTL.replace(" --pprof", ""), ("erb-to-config",))
    assert verdict.status == "differing"
    assert verdict.detail == ("start: the original ran `/var/vcap/packages/j/bin/j --port 80 --pprof` where the "
                              "migrated script ran `/var/vcap/packages/j/bin/j --port 80`")


def test_a_call_of_a_function_whose_definition_went_is_caught(tmp_path: Path) -> None:
    old = HEAD + 'forward() { logger -t j "$1"; }\nforward started\n/var/vcap/packages/j/bin/j\n'
    new = HEAD + "forward started\n/var/vcap/packages/j/bin/j\n"
    verdict = one(tmp_path, old, new, ("log-pipelines",))
    assert verdict.status == "differing"
    assert "`forward started`" in verdict.detail


def test_a_variable_that_is_never_set_changes_the_argv(tmp_path: Path) -> None:
    old = HEAD + "name=j\n/var/vcap/packages/j/bin/j --log $LOG_DIR/${name}.log\n"
    new = HEAD + "/var/vcap/packages/j/bin/j --log $LOG_DIR/${name}.log\n"
    verdict = one(tmp_path, old, new, ("log-pipelines",))
    assert "--log /var/vcap/sys/log/j/.log" in verdict.detail


def test_a_pidfile_chowned_before_the_claim_under_set_e_is_caught(tmp_path: Path) -> None:
    old = CTL.replace("#!/bin/bash\n", "#!/bin/bash\nset -e\n").replace(
        "echo $$ > $PIDFILE", "echo $$ > $PIDFILE\n    chown vcap:vcap $PIDFILE")
    new = old.replace("echo $$ > $PIDFILE\n    chown vcap:vcap $PIDFILE",
                      'chown vcap:vcap $PIDFILE\n    /var/vcap/packages/sipid/bin/sipid claim --pid "$$" --pid-file "$PIDFILE"')
    verdict = one(tmp_path, old, new, ("sipid-pidfiles",))
    assert verdict.status == "differing"
    assert "/var/vcap/packages/j/bin/j --port 80 --pprof" in verdict.detail  # the start never got there


def test_only_log_plumbing_may_go_not_a_config_edit(tmp_path: Path) -> None:
    old = HEAD + ("exec > >(tee -a $LOG_DIR/j.log | logger -t j)\n"
                  "sed -i 's/a/b/' /var/vcap/jobs/j/config/x\n/var/vcap/packages/j/bin/j\n")
    plumbing_gone = HEAD + "exec >> $LOG_DIR/j.log\nsed -i 's/a/b/' /var/vcap/jobs/j/config/x\n/var/vcap/packages/j/bin/j\n"
    assert one(tmp_path / "a", old, plumbing_gone, ("log-pipelines",)).status == "equivalent"
    edit_gone = HEAD + "exec >> $LOG_DIR/j.log\n/var/vcap/packages/j/bin/j\n"
    verdict = one(tmp_path / "b", old, edit_gone, ("log-pipelines",))
    assert "no longer runs `sed -i s/a/b/ /var/vcap/jobs/j/config/x`" in verdict.detail


def test_erb_that_no_longer_renders_is_caught(tmp_path: Path) -> None:
    props = {"j.secret": {"default": "x"}}
    old = HEAD + '<% if p("j.secret") == "" %>\n<% raise "no secret" %>\n<% end %>\n/var/vcap/packages/j/bin/j\n'
    new = HEAD + '<% raise "no secret" %>\n<% end %>\n/var/vcap/packages/j/bin/j\n'
    verdict = one(tmp_path, old, new, ("erb-to-config",), properties=props)
    assert verdict.status == "differing" and "does not render" in verdict.detail


def test_both_contexts_render_both_sides_of_a_boolean(tmp_path: Path) -> None:
    props = {"j.debug": {"default": False}}
    old = HEAD + '/var/vcap/packages/j/bin/j <% if p("j.debug") %>--debug<% end %>\n'
    new = HEAD + "/var/vcap/packages/j/bin/j\n"  # wrong only when the flag is on
    found = {v.context: v for v in verdicts(tmp_path, old, new, ("erb-to-config",), properties=props)}
    assert found["defaults"].status == "equivalent"
    assert found["flipped"].status == "differing" and "--debug" in found["flipped"].detail


def test_a_heredoc_moved_to_a_config_template_must_write_the_same_file(tmp_path: Path) -> None:
    old = HEAD + "mkdir -p $RUN_DIR\ncat > $RUN_DIR/a.conf <<EOF\nport = 80\nEOF\n"
    new = HEAD + "mkdir -p $RUN_DIR\ncp /var/vcap/jobs/j/config/a.conf $RUN_DIR/a.conf\n"
    same = one(tmp_path / "same", old, new, ("erb-to-config",), new_extra={"a.conf.erb": "port = 80\n"})
    assert same.status == "equivalent", same.detail
    other = one(tmp_path / "other", old, new, ("erb-to-config",), new_extra={"a.conf.erb": "port = 81\n"})
    assert other.status == "differing" and "/var/vcap/sys/run/j/a.conf differs" in other.detail


def test_pipeline_members_are_compared_in_the_order_they_are_written(tmp_path: Path) -> None:
    old = HEAD + "for i in 1 2 3 4 5 6; do ps aux | grep -c j | awk '{print $1}' | xargs echo; done\n"
    found = verdicts(tmp_path, old, old + "true\n", ("erb-to-config",))
    assert [v.status for v in found] == ["equivalent", "equivalent"]
    old_run, _new_run = found[0].runs["start"]
    assert [c.name for c in old_run.calls[:4]] == ["ps", "grep", "awk", "xargs"]


def test_a_loop_that_never_ends_in_either_version_is_unrunnable(tmp_path: Path) -> None:
    old = HEAD + "until [ -f /var/vcap/sys/run/j/ready ]; do sleep 1; done\n/var/vcap/packages/j/bin/j\n"
    verdict = one(tmp_path, old, old + "true\n", ("erb-to-config",), timeout=0.5)
    assert verdict.status == "unrunnable" and "longer than" in verdict.detail


def test_what_dash_rejects_in_a_sh_script_is_caught(tmp_path: Path) -> None:
    old = "#!/bin/sh\nFLAGS='-a -b'\n/var/vcap/packages/j/bin/j $FLAGS\n"
    new = "#!/bin/sh\nFLAGS=(-a -b)\n/var/vcap/packages/j/bin/j \"${FLAGS[@]}\"\n"
    verdict = one(tmp_path, old, new, ("erb-to-config",))
    assert verdict.status == "differing" and "dash" in verdict.detail


# -- the declarations that are more than a list of calls ---------------------------------------------
KILL_AND_WAIT = """
kill_and_wait() {
  local pid=$(head -1 "$1")
  kill "$pid"
  rm -f "$1"
  exit 0
}
"""


def test_after_a_helper_that_ended_the_script_the_rest_may_now_run(tmp_path: Path) -> None:
    old = HEAD + KILL_AND_WAIT + CTL.split("\n", 5)[5].replace(
        "kill $(cat $PIDFILE)\n    rm -f $PIDFILE", "kill_and_wait $PIDFILE\n    rm -rf $RUN_DIR/sockets")
    new = SIPID.replace("    fi\n    ;;", "    fi\n    rm -rf $RUN_DIR/sockets\n    ;;")
    assert one(tmp_path / "declared", old, new, ("sipid-pidfiles",)).status == "equivalent"
    # the same tail after a stop that did not end inside the helper is a difference
    plain = CTL.replace("rm -f $PIDFILE", "rm -f $PIDFILE\n    exit 0")
    verdict = one(tmp_path / "plain", plain, new, ("sipid-pidfiles",))
    assert verdict.status == "differing" and "rm -rf /var/vcap/sys/run/j/sockets" in verdict.detail


def test_a_pid_write_into_a_missing_folder_is_not_proven_either_way(tmp_path: Path) -> None:
    old = CTL.replace("#!/bin/bash\n", "#!/bin/bash\nset -e\n").replace("    mkdir -p $RUN_DIR\n", "")
    new = SIPID.replace("#!/bin/bash\n", "#!/bin/bash\nset -e\n").replace("    mkdir -p $RUN_DIR\n", "")
    verdict = one(tmp_path, old, new, ("sipid-pidfiles",))
    assert verdict.status == "unrunnable" and "its folder is missing" in verdict.detail


def test_set_up_of_the_run_folder_may_move_before_the_claim_but_nothing_else(tmp_path: Path) -> None:
    old = CTL.replace("echo $$ > $PIDFILE", "echo $$ > $PIDFILE\n    chown -R vcap:vcap $RUN_DIR\n    date")
    moved = SIPID.replace("    /var/vcap/packages/sipid", "    chown -R vcap:vcap $RUN_DIR\n    /var/vcap/packages/sipid", 1)
    moved = moved.replace("--pid-file \"$PIDFILE\"\n", "--pid-file \"$PIDFILE\"\n    date\n", 1)
    assert one(tmp_path / "chown", old, moved, ("sipid-pidfiles",)).status == "equivalent"
    date_moved = moved.replace("    date\n", "").replace("    chown -R", "    date\n    chown -R")
    verdict = one(tmp_path / "date", old, date_moved, ("sipid-pidfiles",))
    assert verdict.status == "differing" and "`date`" in verdict.detail


def test_one_health_check_call_may_replace_a_probe_loop_not_two(tmp_path: Path) -> None:
    old = HEAD + "for i in 1 2 3; do curl -sf http://127.0.0.1:80/health && break; sleep 1; done\n"
    wait = "/var/vcap/packages/sipid/bin/sipid wait-until-healthy --url http://127.0.0.1:80/health --timeout 3s\n"
    assert one(tmp_path / "one", old, HEAD + wait, ("sipid-healthcheck",)).status == "equivalent"
    verdict = one(tmp_path / "two", old, HEAD + wait + wait, ("sipid-healthcheck",))
    assert verdict.status == "differing" and "wait-until-healthy" in verdict.detail


def test_a_program_started_with_another_environment_differs(tmp_path: Path) -> None:
    old = HEAD + "export GOMAXPROCS=4\n/var/vcap/packages/j/bin/j\n"
    new = HEAD + "GOMAXPROCS=4\n/var/vcap/packages/j/bin/j\n"  # no longer exported
    verdict = one(tmp_path, old, new, ("erb-to-config",))
    assert verdict.status == "differing" and "environment differs: GOMAXPROCS='4'->None" in verdict.detail


def test_a_stop_that_failed_with_nothing_to_kill_may_now_succeed(tmp_path: Path) -> None:
    # the start never writes the pidfile (the program would): the old stop's kill gets no pid
    old = CTL.replace("#!/bin/bash\n", "#!/bin/bash\nset -e\n").replace("    echo $$ > $PIDFILE\n", "")
    new = SIPID.replace("#!/bin/bash\n", "#!/bin/bash\nset -e\n").replace(
        '    /var/vcap/packages/sipid/bin/sipid claim --pid "$$" --pid-file "$PIDFILE"\n', "")
    assert one(tmp_path / "declared", old, new, ("sipid-pidfiles",)).status == "equivalent"
    verdict = one(tmp_path / "undeclared", old, new, ("erb-to-config",))
    assert verdict.status == "differing"


KEPT_TEE = """\
#!/bin/bash
LOG_DIR=/var/vcap/sys/log/job
exec > >(tee -a "$LOG_DIR/b.log")
/var/vcap/packages/job/bin/job m1 2>&1 | tee -a $LOG_DIR/p.log | logger -t vcap.job
/var/vcap/packages/job/bin/job m2 | tee -a $LOG_DIR/q.log | logger -t vcap.job
exec > >(tee -a "$LOG_DIR/b.log")
true
"""


def test_a_kept_tee_does_not_pair_with_a_removed_one_and_push_real_commands_out_of_line() -> None:
    """Found by the log-pipelines property test: the migration removed the first fan-out and kept
    the second, so a plain alignment paired the kept ``tee`` with the removed one and reported the
    job's own commands between them as new. Real commands are aligned first."""
    migrated = KEPT_TEE.replace('exec > >(tee -a "$LOG_DIR/b.log")\n/var', 'mkdir -p "$LOG_DIR"\n'
                                'exec >> "$LOG_DIR/b.log"\n/var', 1)
    migrated = migrated.replace(" 2>&1 | tee -a $LOG_DIR/p.log | logger -t vcap.job", " >> $LOG_DIR/p.log 2>&1")
    migrated = migrated.replace(" | tee -a $LOG_DIR/q.log | logger -t vcap.job", " >> $LOG_DIR/q.log")
    [verdict] = compare_scripts(KEPT_TEE, migrated, ["log-pipelines"])
    assert verdict.status == "equivalent", verdict.detail
    # and a real command that moves across the kept tee is still a difference
    swapped = migrated.replace("job m1 >> $LOG_DIR/p.log 2>&1\n", "").replace(
        "true\n", "/var/vcap/packages/job/bin/job m1 >> $LOG_DIR/p.log 2>&1\ntrue\n")
    [verdict] = compare_scripts(KEPT_TEE, swapped, ["log-pipelines"])
    assert verdict.status == "differing", verdict
