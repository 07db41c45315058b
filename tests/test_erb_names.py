"""erb-to-config names: a variable says what it means, read from the whole condition or value.

A reviewer reads the script (``if [ "$BPM_DISABLED" = true ]``) and the rendered env file
(``BPM_DISABLED=true``) without the ERB, so a negation must read as one, a comparison must name the
value compared with, and a choice between several values must hold the value chosen.
"""

from __future__ import annotations

import textwrap

import pytest

from codemods._erb_names import Namer, Unnamed, candidates, hint_before
from codemods.erb_to_config import ErbToConfig
from tests.support.codemod_case import Outcome, run_codemods

PROPERTIES = {
    "bpm.enabled": {"default": False},
    "syslog.migration.disabled": {"default": False},
    "health.disable_post_start": {"default": False},
    "cf.skip_ssl_validation": {"default": False},
    "kafka.enable_sasl": {"default": True},
    "tls.certificate": {"default": ""},
    "queue.workers": {"default": 1},
    "log.format": {"default": "text"},
}


@pytest.mark.parametrize("code,name", [
    # a yes/no setting: its own name when it already reads as one, else _ENABLED
    ('if p("bpm.enabled")', "BPM_ENABLED"),
    ('if p("cf.skip_ssl_validation")', "CF_SKIP_SSL_VALIDATION"),
    ('if p("job.debug")', "JOB_DEBUG"),
    ('if p("job.route")', "JOB_ROUTE_ENABLED"),
    # negations read as negations, whatever the spelling
    ('if !p("bpm.enabled")', "BPM_DISABLED"),
    ('unless p("bpm.enabled")', "BPM_DISABLED"),
    ('if not p("bpm.enabled")', "BPM_DISABLED"),
    ('if p("bpm.enabled") == false', "BPM_DISABLED"),
    ('unless p("syslog.migration.disabled")', "SYSLOG_MIGRATION_ENABLED"),
    ('if !p("health.disable_post_start")', "HEALTH_POST_START_ENABLED"),
    ('unless p("cf.skip_ssl_validation")', "CF_SSL_VALIDATION_ENABLED"),
    ('if !p("kafka.enable_sasl")', "KAFKA_SASL_DISABLED"),
    # a local that says what the job has: its negation says it has none
    ('if !has_admin_api', "NO_ADMIN_API"),
    ('unless has_proxy || has_admin_api', "NO_PROXY_AND_NO_ADMIN_API"),
    ('unless p("job.respect_permissions")', "JOB_RESPECT_PERMISSIONS_DISABLED"),
    # a value that is set or not (its default is not a boolean)
    ('if p("tls.certificate")', "TLS_CERTIFICATE_SET"),
    ('if !p("tls.certificate")', "TLS_CERTIFICATE_UNSET"),
    ('if p("tls.certificate").nil?', "TLS_CERTIFICATE_UNSET"),
    ('if p("tls.certificate", nil) != nil', "TLS_CERTIFICATE_SET"),
    # empty-string checks say so
    ('if p("tls.certificate") == ""', "TLS_CERTIFICATE_IS_EMPTY"),
    ('if p("tls.certificate").empty?', "TLS_CERTIFICATE_IS_EMPTY"),
    ('if p("tls.certificate") != ""', "TLS_CERTIFICATE_NOT_EMPTY"),
    ('unless p("tls.certificate").to_s.empty?', "TLS_CERTIFICATE_NOT_EMPTY"),
    ('if p("job.peers").length > 0', "JOB_PEERS_NOT_EMPTY"),
    ('if p("job.peers").size == 0', "JOB_PEERS_IS_EMPTY"),
    # a negation inside a conjunction reads as one, whatever suffix it would get alone
    ('if p("es.node.allow_data") and not p("es.node.allow_master")', "ES_NODE_ALLOW_DATA_AND_NOT_ALLOW_MASTER"),
    ('if !p("es.node.allow_master") && p("es.node.allow_data")', "ES_NODE_NOT_ALLOW_MASTER_AND_ALLOW_DATA"),
    ('if p("bpm.enabled") && !p("kafka.enable_sasl")', "BPM_ENABLED_AND_KAFKA_SASL_DISABLED"),
    # if_p on many properties: the first and how many more, not every path
    ('if_p("box.ssl_cert", "box.ssl_key") do |c, k|', "BOX_SSL_CERT_AND_SSL_KEY_SET"),
    ('if_p("box.ssl_cert", "box.ssl_key", "box.pkcs12_password", "box.keystore_password") do |a, b, c, d|',
     "BOX_SSL_CERT_AND_3_MORE_SET"),
    # comparisons name the value compared with
    ('if p("queue.workers") == 0', "QUEUE_WORKERS_IS_0"),
    ('if p("queue.workers") > 1', "QUEUE_WORKERS_ABOVE_1"),
    ('if p("queue.workers") <= 0', "QUEUE_WORKERS_AT_MOST_0"),
    ('if p("log.format") == "json"', "LOG_FORMAT_IS_JSON"),
    ('if p("log.format") != "json"', "LOG_FORMAT_IS_NOT_JSON"),
    ('unless p("log.format") == "json"', "LOG_FORMAT_IS_NOT_JSON"),
    ('if "json" == p("log.format")', "LOG_FORMAT_IS_JSON"),
    ('if p("grootfs.driver") == \'overlay-xfs\'', "GROOTFS_DRIVER_IS_OVERLAY_XFS"),
    ('if p("db.password_old") == p("db.password")', "DB_PASSWORD_OLD_EQUALS_PASSWORD"),
    ('if spec.index == 0', "SPEC_INDEX_IS_0"),
    ('if spec.bootstrap', "SPEC_BOOTSTRAP"),
    ('if properties.riak.firewall_enabled', "RIAK_FIREWALL_ENABLED"),
    # several tests: each named, the shared property path said once
    ('if p("job.x").nil? || p("job.x").empty?', "JOB_X_UNSET_OR_IS_EMPTY"),
    ('unless p("a.tls") && p("a.mtls")', "A_TLS_DISABLED_OR_MTLS_DISABLED"),
    ('if p("job.urls") && p("job.urls").length > 0', "JOB_URLS_NOT_EMPTY"),
    # blocks
    ('if_p("tls.certificate") do |cert|', "TLS_CERTIFICATE_SET"),
    ('if_p("nats.user", "nats.password") do |u, pw|', "NATS_USER_AND_PASSWORD_SET"),
    ('if_link("rootless_link") do |link|', "ROOTLESS_LINK_PRESENT"),
    ('if_link("db") do |db|', "DB_LINK_PRESENT"),
    ('end.else_if_p("job.fallback") do |f|', "JOB_FALLBACK_SET"),
])
def test_a_condition_is_named_after_what_it_tests(code: str, name: str) -> None:
    assert Namer(PROPERTIES).condition(code) == name


def test_a_block_variable_and_a_local_are_named_after_what_they_hold() -> None:
    namer = Namer(PROPERTIES, {"cert": 'p("tls.certificate")', "workers": 'p("queue.workers")', "backup": ":backup",
                               "kafka": 'link("kafka")', "zks": ":zks"})
    assert namer.condition("if cert.empty?") == "TLS_CERTIFICATE_IS_EMPTY"
    assert namer.condition("if workers == 0") == "QUEUE_WORKERS_IS_0"
    assert namer.condition("if backup") == "BACKUP_SET"
    assert namer.value("cert") == "TLS_CERTIFICATE"
    # a local holding a link: what is read through it
    assert namer.condition('if kafka.p("tls.certificate", nil) != nil') == "KAFKA_TLS_CERTIFICATE_SET"
    assert namer.value("zks.p('client_port')") == "ZKS_CLIENT_PORT"
    # a Ruby local called `name` is not BOSH's job name
    local = Namer(PROPERTIES, {"name": ":name", "role": ":role"})
    assert local.value("name") == "NAME" and local.value('role["name"]') == "ROLE_NAME"


@pytest.mark.parametrize("code", ["if (x || []).empty?", "if p('a') <=> 1", "if foo(1, 2) =~ /x/"])
def test_a_condition_it_cannot_read_has_no_name(code: str) -> None:
    with pytest.raises(Unnamed):
        Namer(PROPERTIES).condition(code)


def test_a_choice_between_values_of_one_property_is_a_selector() -> None:
    namer = Namer(PROPERTIES)
    assert namer.selector(['if p("log.format") == "json"', 'elsif p("log.format") == "logfmt"']) == (
        "LOG_FORMAT", ["json", "logfmt"])
    assert namer.selector(['if p("log.format") == "json"', 'elsif p("log.level") == "debug"']) is None
    assert namer.selector(['if p("log.format") == "json"', 'elsif p("log.format") != "x"']) is None


@pytest.mark.parametrize("code,prefix,name", [
    # a URL built from parts is named after what it fills, and says it is a URL
    ('"https://" + link("nats").p("nats.user") + "@" + link("nats").p("nats.host")', "  -nats ", "NATS_URL"),
    ('"https://" + p("api.host")', "  --api-url ", "API_URL"),
    # a URL named only --url: after its path's last segment
    ('esc("#{base}/services/registry-default")', "  --url ", "REGISTRY_DEFAULT_URL"),
    ('"10.0.0.5"', "    -backendHost ", "BACKEND_HOST"),
    ('sh_esc(uri_esc(adm_username))', "readonly ADM_CONSUMER_NAME_URLENC=", "ADM_CONSUMER_NAME_URLENC"),
    ('"#{p("db.host")}:#{p("db.port")}"', 'exec db --address="', "ADDRESS"),
    ('p("router.port")', "  --listen-port ", "ROUTER_PORT"),
    ('p("load.SSHUsername")', "  -user ", "LOAD_SSH_USERNAME"),
    ('list', "  --data 'name=x&zkHosts=", "ZK_HOSTS"),
    ('spec.address', "  --advertise=", "SPEC_ADDRESS"),
    # a guard read before the property is not what the value is about
    ('properties.webapp && properties.webapp.package', "", "WEBAPP_PACKAGE"),
    # hash keys read from a property's value are part of what it is
    ("p('catalog.services').first['plans'].first['name']", "  --plan ", "CATALOG_SERVICES_PLANS_NAME"),
    # an attribute read from what the property names: the network's ip, not the network
    ("spec.networks.send(p('grid.network')).ip", "  --listen ", "GRID_NETWORK_IP"),
    # a link's instances: their addresses
    ('link("peers").instances.first.address', "  --seed ", "PEERS_ADDRESS"),
    ('link("peers").instances.map(&:address).join(",")', "  --join ", "PEERS_ADDRESSES"),
    ('link("peer_addrs").instances.map { |i| i.address }.join(",")', "  --join ", "PEER_ADDRS"),
    # a request body is named as one, not after the curl option (DATA_RAW)
    ('sh_esc(js_esc({ "name" => p("box.name") }))', "  --data-raw ", "REQUEST_BODY"),
    ('p("es.mappings").to_json', "  -d ", "ES_MAPPINGS"),
    ('{ "a" => p("x.a"), "b" => p("x.b") }.to_json', "  -d ", "REQUEST_BODY"),
    # a long property path keeps its meaningful tail (at most 40 characters)
    ('p("scalablesyslog.scheduler.tls.api.skip_cert_verify")', "", "SCHEDULER_TLS_API_SKIP_CERT_VERIFY"),
    ('p("search.cluster.routing.allocation.enable_post_start")', "", "ROUTING_ALLOCATION_ENABLE_POST_START"),
    ('p("scalablesyslog.adapter.syslog_io_timeout")', "", "SCALABLESYSLOG_ADAPTER_SYSLOG_IO_TIMEOUT"),
    ('link("adapter_addrs").p("scalablesyslog.adapter.port")', "", "ADAPTER_ADDRS_ADAPTER_PORT"),
])
def test_a_value_is_named_after_its_property_or_what_it_fills(code: str, prefix: str, name: str) -> None:
    assert Namer(PROPERTIES).value(code, hint_before(prefix)) == name


def test_a_literal_value_filling_nothing_named_has_no_name() -> None:
    with pytest.raises(Unnamed):
        Namer(PROPERTIES).value('"10.0.0.5"', hint_before("    exec /bin/x "))


# -- in the codemod ------------------------------------------------------------------------------------------
def migrate(before: str, **kwargs) -> Outcome:
    return run_codemods([ErbToConfig()], before, properties=PROPERTIES, **kwargs)


def env_of(outcome: Outcome, name: str = "templates/job_ctl.env.erb") -> str:
    files = {f.path: f.content for f in outcome.result.result.new_files}
    return "".join(line for line in files.get(name, "").splitlines(keepends=True) if not line.startswith("# "))


def test_an_unless_block_gets_the_negated_name_in_script_and_env() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% unless p("bpm.enabled") -%>
        /var/vcap/packages/job/bin/job --daemon
        <% end -%>
        echo started
        """)
    assert 'if [ "$BPM_DISABLED" = true ]; then\n  /var/vcap/packages/job/bin/job --daemon\nfi\n' in outcome.text
    assert env_of(outcome) == "BPM_DISABLED=false\n<% unless p(\"bpm.enabled\") -%>\nBPM_DISABLED=true\n<% end -%>\n"


def test_a_multi_way_choice_holds_the_chosen_value() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% if p("log.format") == "json" -%>
        export LOG_OPTS=--json
        echo json
        <% elsif p("log.format") == "logfmt" -%>
        echo logfmt
        <% else -%>
        echo text
        <% end -%>
        """)
    assert textwrap.dedent("""\
        if [ "$LOG_FORMAT" = json ]; then
          export LOG_OPTS=--json
          echo json
        elif [ "$LOG_FORMAT" = logfmt ]; then
          echo logfmt
        else
          echo text
        fi
        """) in outcome.text
    env = env_of(outcome)
    assert env == ("LOG_FORMAT=''\n<% if p(\"log.format\") == \"json\" -%>\nLOG_FORMAT=json\n"
                   "<% elsif p(\"log.format\") == \"logfmt\" -%>\nLOG_FORMAT=logfmt\n<% end -%>\n"), env


def test_a_selector_value_that_needs_quotes_is_quoted_in_both_places() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% if p("log.format") == "two words" -%>
        echo a
        <% elsif p("log.format") == "json" -%>
        echo b
        <% end -%>
        """)
    assert "if [ \"$LOG_FORMAT\" = 'two words' ]; then" in outcome.text
    assert "LOG_FORMAT='two words'\n" in env_of(outcome)


def test_the_same_condition_twice_is_one_name_defined_once() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% if p("queue.workers") == 0 -%>
        echo none
        <% end -%>
        echo between
        <% if p("queue.workers") == 0 -%>
        echo still none
        <% end -%>
        """)
    assert outcome.text.count('if [ "$QUEUE_WORKERS_IS_0" = true ]; then') == 2
    assert "_VALUE" not in outcome.text
    assert env_of(outcome).count("QUEUE_WORKERS_IS_0=false") == 1


def test_opposite_conditions_never_share_a_name() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% if p("bpm.enabled") -%>
        echo bpm
        <% end -%>
        <% unless p("bpm.enabled") -%>
        echo legacy
        <% end -%>
        """)
    assert 'if [ "$BPM_ENABLED" = true ]; then\n  echo bpm' in outcome.text
    assert 'if [ "$BPM_DISABLED" = true ]; then\n  echo legacy' in outcome.text


def test_a_condition_without_an_honest_name_stays_erb_with_the_reason() -> None:
    before = """\
        #!/bin/bash
        <% if (p("job.list") || []).empty? -%>
        echo nothing
        <% end -%>
        """
    outcome = migrate(before)
    assert outcome.text == textwrap.dedent(before)
    assert any("not one the codemod can name" in m for m in outcome.messages()), outcome.messages()


def test_a_value_built_from_several_properties_is_named_after_its_option() -> None:
    outcome = migrate("""\
        #!/bin/bash
        exec /bin/job -nats <%= "nats://" + p("nats.user") + "@" + p("nats.host") %> -backendHost <%= "10.0.0.5" %>
        """)
    assert outcome.text.endswith('exec /bin/job -nats "$NATS_URL" -backendHost 10.0.0.5\n'), outcome.text
    assert "ERB_VALUE" not in env_of(outcome)


def test_an_elsif_test_that_can_be_evaluated_alone_means_just_that_test() -> None:
    """``SWITCH_DEBUG`` says whether debug is on, also when the first test held (bash never looks
    at it then); a test that could raise where the template did not evaluate it keeps its place."""
    props = {"x.mode": {"default": "direct"}, "x.debug": {"default": False}, "x.list": {}}
    outcome = run_codemods([ErbToConfig()], """\
        #!/bin/bash
        <% if p("x.mode") == "proxy" -%>
        echo proxy
        <% elsif p("x.debug") -%>
        echo debug
        <% elsif p("x.list").empty? -%>
        echo empty
        <% end -%>
        """, properties=props)
    assert textwrap.dedent("""\
        if [ "$X_MODE_IS_PROXY" = true ]; then
          echo proxy
        elif [ "$X_DEBUG" = true ]; then
          echo debug
        elif [ "$X_LIST_IS_EMPTY" = true ]; then
          echo empty
        fi
        """) in outcome.text, outcome.text
    assert env_of(outcome) == textwrap.dedent("""\
        X_MODE_IS_PROXY=false
        X_LIST_IS_EMPTY=false
        X_DEBUG=false
        <% if p("x.debug") -%>
        X_DEBUG=true
        <% end -%>
        <% if p("x.mode") == "proxy" -%>
        X_MODE_IS_PROXY=true
        <% elsif p("x.debug") -%>
        <% elsif p("x.list").empty? -%>
        X_LIST_IS_EMPTY=true
        <% end -%>
        """), env_of(outcome)


def test_each_block_variable_of_an_if_p_with_several_properties_is_named_after_its_own() -> None:
    outcome = run_codemods([ErbToConfig()], """\
        #!/bin/bash
        <% if_p("box.cert", "box.store_password") do |cert, pass| -%>
        keytool -importcert -file <%= cert %> -deststorepass <%= pass %>
        <% end -%>
        """)
    assert '-deststorepass "$BOX_STORE_PASSWORD"' in outcome.text, outcome.text


def test_a_local_set_per_item_of_a_loop_is_named_after_the_item_and_itself() -> None:
    """``label, doc = entry.first`` inside a loop: ``label`` is this item's, not BOSH's job name
    (a bare ``name`` read as ``spec.name`` gave JOB_NAME), and a local named like a variable the
    shell reads (``path``) is no reason for a generic ``PATH_VALUE``."""
    outcome = run_codemods([ErbToConfig()], """\
        #!/bin/bash
        <% p("shelf.books").each do |book| -%>
        <% name, path = book.first -%>
        /var/vcap/packages/shelf/bin/shelve --title <%= name %> --from <%= path %>
        <% end -%>
        """)
    env = env_of(outcome)
    assert "BOOK_NAME=(" in env and "BOOK_PATH=(" in env, env
    # unquoted: the element expanded unquoted, split by bash as the rendered text was
    assert "--title ${BOOK_NAME[$i]} --from ${BOOK_PATH[$i]}" in outcome.text, outcome.text
    assert "JOB_NAME" not in env and "PATH_VALUE" not in env


@pytest.mark.parametrize("base,job,taken,name", [
    ("BOX_PORT", "box", set(), "BOX_PORT"),
    # a one-word name says nothing on its own: the job's name goes in front
    ("PORT", "dns-adapter", set(), "DNS_ADAPTER_PORT"),
    ("PASSWORD", "kafka-manager", set(), "KAFKA_MANAGER_PASSWORD"),
    # a name the script uses already: the job's name in front, or CONFIGURED_ when it has it
    ("HEAP_SIZE", "kafka", {"HEAP_SIZE"}, "KAFKA_HEAP_SIZE"),
    ("BOX_PORT", "box", {"BOX_PORT"}, "CONFIGURED_BOX_PORT"),
    ("BOX_PORT", "box", {"BOX_PORT", "CONFIGURED_BOX_PORT"}, "BOX_PORT_2"),
    # the shell's own names: the job's name in front, not PATH_VALUE
    ("PATH", "shop", {"PATH"}, "SHOP_PATH"),
    # never the job's name (``name`` on its own is not it)
    ("NAME", "job", set(), "CONFIGURED_NAME"),
])
def test_a_taken_or_one_word_name_gets_a_qualified_one_never_a_generic_suffix(base, job, taken, name) -> None:
    assert next(c for c in candidates(base, job) if c not in taken) == name


@pytest.mark.parametrize("before,name", [
    ('request PUT "/services/${SERVICE_ID}" \\\n      --data-raw ', "SERVICES_BODY"),
    ('request PUT \\\n  "/consumers/${ID}/basic-auth/${NAME}" \\\n  --data-raw ', "BASIC_AUTH_BODY"),
    ("curl -fsS -X PUT http://127.0.0.1:9200/_template/logs -d ", "LOGS_BODY"),
    # a file path is no request path; a URL from a variable says nothing
    ("/var/vcap/packages/curl/bin/curl -X PUT --data-raw ", "REQUEST_BODY"),
    ('$CURL -fsS -X PUT --url "$SERVICES_URL" --data-raw ', "REQUEST_BODY"),
])
def test_a_request_body_is_named_after_the_path_it_goes_to(before: str, name: str) -> None:
    code = 'sh_esc(js_esc({ "name" => p("box.name"), "port" => p("box.port") }))'
    assert Namer(PROPERTIES).value(code, hint_before(before), before) == name


def test_a_second_value_of_the_same_kind_is_numbered() -> None:
    assert next(candidates("D_ARGS", "job", {"D_ARGS"})) == "D_ARGS_2"
    assert next(candidates("URL", "shop", {"SHOP_URL"})) == "SHOP_URL_2"
    assert Namer(PROPERTIES).value('p("path")') == "PATH"  # left for candidates to qualify


def test_a_name_the_script_uses_becomes_a_qualified_name() -> None:
    outcome = migrate("""\
        #!/bin/bash
        QUEUE_WORKERS=$(nproc)
        exec /var/vcap/packages/job/bin/job --cpus "$QUEUE_WORKERS" --workers <%= p("queue.workers") %>
        """, job="gate")
    assert '--workers "$GATE_QUEUE_WORKERS"' in outcome.text, outcome.text
    assert "_VALUE" not in outcome.text


def test_request_bodies_of_one_script_are_named_after_their_paths() -> None:
    outcome = migrate("""\
        #!/bin/bash
        request PUT "/services/${SERVICE_ID}" \\
          --data-raw <%= { "name" => p("box.name"), "port" => p("box.port") }.to_json %>
        request PUT "/routes/${ROUTE_ID}" \\
          --data-raw <%= { "paths" => p("box.paths"), "service" => p("box.name") }.to_json %>
        echo "/routes/a" done
        request PUT \\
          "/consumers/${ID}/basic-auth/${NAME}" \\
          --data-raw <%= {
            "password" => p("box.password"), "user" => p("box.user")
          }.to_json %> \\
          --include
        """)
    assert '--data-raw "$BASIC_AUTH_BODY"' in outcome.text, outcome.text
    assert '--data-raw "$SERVICES_BODY"' in outcome.text and '--data-raw "$ROUTES_BODY"' in outcome.text, outcome.text
