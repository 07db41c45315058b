# Renders BOSH job templates the way the director does (stdlib ERB, trim mode "-"), through a
# BOSH-like context: p / if_p with the job spec's defaults, spec.*, the v1 properties accessor,
# name/index, and link stubs. The one renderer of the project: the tool's Ruby ERB check and the
# test suite both use it (through migrator/ruby_erb/renderer.py).
#
# usage:
#   ruby render.rb SPEC_FILE TEMPLATE_FILE CONTEXT_JSON   render one template to stdout (exit 3 on a render error)
#   ruby render.rb --server                             one JSON request per stdin line, one JSON response per line
#
# CONTEXT_JSON: {"properties": {...nested manifest properties...},
#                "spec": {"name": ..., "index": 0, "id": ..., "address": ..., ...},
#                "links": {"db": {"properties": {...}, "instances": [{"address": ...}], "address": ...}}}
# request:  {"id": 1, "template": "...", "name": "templates/x.erb",
#            "job_spec": {"name": ..., "properties": {...}} or "spec_file": "path/to/spec",
#            "context": CONTEXT, "output": true}
# response: {"id": 1, "ok": true, "output": "..."}  ("output_base64" when the result is not UTF-8;
#           no output when the request said "output": false)
#           {"id": 1, "ok": false, "error": "NameError", "message": "..."}
# Defaults come from the job's own spec; only properties the spec declares exist. A link the
# context does not provide is a stub (defaults, made-up values), so a template that merely uses
# links still renders; if_link yields only for links the context provides.
require "erb"
require "json"
require "yaml"
require "ostruct"
require "shellwords"
require "timeout"
require "base64"

class UnknownProperty < StandardError; end

module PropertyLookup
  def self.dig(hash, dotted)
    dotted.split(".").reduce(hash) do |node, key|
      return nil unless node.is_a?(Hash) && node.key?(key)
      node[key]
    end
  end

  # a plausible value for a property nobody set (link stubs): by the property's last name
  def self.made_up(name)
    last = name.split(".").last.to_s
    case last
    when /(port)$/i then 4242
    when /(timeout|interval|seconds|count|max|min|size|limit|workers|threads|retries)$/i then 7
    when /(hosts|ips|addresses|servers|nodes|peers|members|urls)$/i then ["10.0.0.5", "10.0.0.6"]
    when /(enabled?|ssl|tls|insecure|debug)$/i then true
    when /(host|address|ip|domain|hostname|server)$/i then "10.0.0.5"
    when /(url|uri)$/i then "https://example.test:8443/path"
    else "made-up-#{last.tr("_", "-")}"
    end
  end
end

# A made-up value (a property without a default nobody set) that a template reads as an object,
# e.g. p("x.ldap").login: an unknown method answers another made-up value, so the render goes on
# and the old and the new template see the same answers. Conversions (to_*) are left alone.
class MadeUp < String
  def method_missing(name, *args, &block)
    text = name.to_s
    return super if text.start_with?("to_") || text.end_with?("=", "!")
    text.end_with?("?") ? false : MadeUp.new("made-up-#{text.tr("_", "-")}")
  end

  def respond_to_missing?(name, include_private = false)
    text = name.to_s
    !(text.start_with?("to_") || text.end_with?("=", "!")) || super
  end

  def each(&block) = [self].each(&block)
  def map(&block) = [self].map(&block)
  def each_with_index(&block) = [self].each_with_index(&block)
end

class IfResult
  def initialize(matched, ctx = nil)
    @matched = matched
    @ctx = ctx
  end

  def else
    yield unless @matched
    self
  end

  def else_if_p(*names, &block)
    return self if @matched || @ctx.nil?
    @matched = @ctx.send(:if_p_impl, *names, &block)
    self
  end
end

class Link
  def initialize(name, data)
    @name = name
    @data = data
  end

  def stub? = @data.nil?

  def p(name, *default)
    value = stub? ? nil : PropertyLookup.dig(@data.fetch("properties", {}), name)
    return value unless value.nil?
    return default.first unless default.empty?
    return PropertyLookup.made_up(name) if stub?
    raise UnknownProperty, "link property '#{name}' is not set"
  end

  def if_p(*names)
    values = names.map { |n| stub? ? PropertyLookup.made_up(n) : PropertyLookup.dig(@data.fetch("properties", {}), n) }
    matched = values.none?(&:nil?)
    yield(*values) if matched
    IfResult.new(matched)
  end

  def instances
    list = stub? ? [{"address" => "#{@name}-0.link.test", "name" => @name, "id" => "uuid-link-0", "index" => 0,
                     "az" => "z1", "bootstrap" => true}] : @data.fetch("instances", [])
    list.map { |i| OpenStruct.new(i) }
  end

  def address = stub? ? "#{@name}.link.test" : @data.fetch("address")
end

# spec.networks: the networks the context gives, and any other name (spec.networks.send(p("net")))
# answers as a network holding the instance's address, as on a one-network deployment.
# A context that names no network gets one, "default", as a one-network deployment has: templates
# that walk spec.networks (marshal_dump, each_pair) to find the default network's ip then render.
class Networks < OpenStruct
  def initialize(given, ip)
    given = {"default" => Networks.network("default", ip)} if given.nil? || given.empty?
    super(given)
    @ip = ip
  end

  def self.network(name, ip)
    OpenStruct.new("ip" => ip, "netmask" => "255.255.255.0", "gateway" => "10.0.0.1",
                   "dns_record_name" => "0.job.#{name}.deployment.bosh", "default" => %w[dns gateway])
  end

  def method_missing(name, *args)
    return super if name.to_s.end_with?("=") || !args.empty?
    self[name] || Networks.network(name, @ip)
  end

  def respond_to_missing?(name, include_private = false) = !name.to_s.end_with?("=") || super
end

class Context
  def initialize(spec, ctx)
    @declared = (spec["properties"] || {})
    @manifest = ctx.fetch("properties", {}) || {}
    @spec_data = {"name" => spec["name"], "index" => 0, "id" => "uuid-0", "address" => "10.0.0.10",
                  "ip" => "10.0.0.10", "az" => "z1", "deployment" => "test", "bootstrap" => true,
                  "networks" => {}, "job" => {"name" => spec["name"]}, "release" => {"name" => "sample"}}
                 .merge(ctx.fetch("spec", {}) || {})
    @links = ctx.fetch("links", {}) || {}
  end

  def lookup(name)
    raise UnknownProperty, "property '#{name}' is not declared in the job spec" unless @declared.key?(name)
    value = PropertyLookup.dig(@manifest, name)
    return MadeUp.new(value) if value.is_a?(String) && value.start_with?("made-up-")
    value.nil? ? (@declared[name] || {})["default"] : value
  end

  def p(*args)
    names, default = args[0], args[1..]
    Array(names).each do |name|
      value = lookup(name)
      return value unless value.nil?
    end
    return default.first unless default.empty?
    raise UnknownProperty, "Can't find property '#{Array(names).join("', '")}'"
  end

  def if_p_impl(*names)
    values = names.map { |n| lookup(n) }
    return false if values.any?(&:nil?)
    yield(*values)
    true
  end

  def if_p(*names, &block) = IfResult.new(if_p_impl(*names, &block), self)

  def spec
    data = JSON.parse(@spec_data.to_json, object_class: OpenStruct)
    data.networks = Networks.new(data.networks.to_h, @spec_data["ip"])
    data
  end
  def name = @spec_data["job"]["name"] || @spec_data["name"]
  def index = @spec_data["index"]

  # BOSH v1 accessor: properties.a.b (every declared property, manifest value over default)
  def properties
    tree = {}
    @declared.each_key do |dotted|
      value = lookup(dotted)
      *path, last = dotted.split(".")
      path.reduce(tree) { |node, key| node[key].is_a?(Hash) ? node[key] : (node[key] = {}) }[last] = value
    end
    JSON.parse(tree.to_json, object_class: OpenStruct)
  end

  def link(name) = Link.new(name, @links[name])

  def if_link(name)
    matched = @links.key?(name)
    yield Link.new(name, @links[name]) if matched
    IfResult.new(matched)
  end

  # A binding whose self is this object and whose method definitions and constants land on this
  # object's singleton class: nothing one template defines is seen by the next.
  def fresh_binding = instance_eval("binding", __FILE__, __LINE__)

  # NameError messages show the receiver: keep them one short line
  def inspect = "#<Context>"

  def render(text, filename = nil) = Compiled.erb(text, filename).result(fresh_binding)
end

# The check renders each template in two contexts: compile it once (ERB to Ruby source).
module Compiled
  @cache = {}

  def self.erb(text, filename)
    @cache.clear if @cache.size > 256
    @cache[[text, filename]] ||= ERB.new(text, trim_mode: "-").tap { |erb| erb.filename = filename if filename }
  end
end

module Server
  module_function

  # one request in, one response out; nothing a template does (raise, exit, a syntax error) gets out
  def handle(line, timeout)
    req = JSON.parse(line)
    id = req["id"]
    spec = req["spec_file"] ? (YAML.safe_load(File.read(req["spec_file"]), aliases: true) || {}) : (req["job_spec"] || {})
    output = Timeout.timeout(timeout) do
      Context.new(spec, req["context"] || {}).render(req.fetch("template"), req["name"])
    end
    response = {"id" => id, "ok" => true}
    if req.fetch("output", true)
      output = output.dup.force_encoding(Encoding::UTF_8)
      if output.valid_encoding?
        response["output"] = output
      else
        response["output_base64"] = Base64.strict_encode64(output)
      end
    end
    response
  rescue ScriptError, StandardError, SystemExit, SystemStackError, Timeout::Error => e
    {"id" => id, "ok" => false, "error" => e.class.name, "message" => e.message.to_s.scrub}
  end

  def run(timeout)
    $VERBOSE = nil # warnings (a redefined constant) must not fill a pipe nobody reads
    proto_out = $stdout.dup
    proto_in = $stdin.dup
    # a template that prints or reads must not touch the protocol streams
    $stdout.reopen(File::NULL, "w")
    $stdin.reopen(File::NULL)
    proto_out.sync = true
    while (line = proto_in.gets)
      next if line.strip.empty?
      response = handle(line, timeout)
      begin
        text = JSON.generate(response)
      rescue JSON::GeneratorError, EncodingError => e
        text = JSON.generate({"id" => response["id"], "ok" => false, "error" => e.class.name, "message" => e.message.scrub})
      end
      proto_out.write(text + "\n")
    end
  end
end

if ARGV[0] == "--server"
  Server.run((ENV["RENDER_TIMEOUT"] || "20").to_f)
else
  spec = YAML.safe_load(File.read(ARGV[0]), aliases: true) || {}
  ctx = JSON.parse(File.read(ARGV[2]))
  begin
    $stdout.write(Context.new(spec, ctx).render(File.read(ARGV[1])))
  rescue UnknownProperty => e
    warn "render error: #{e.message}"
    exit 3
  end
end
