# Renders one BOSH job template the way the director does (stdlib ERB, trim mode "-"), for tests.
#
# usage: ruby render.rb SPEC_FILE TEMPLATE_FILE CONTEXT_JSON
#   CONTEXT_JSON: {"properties": {...nested manifest properties...},
#                  "spec": {"name": ..., "index": 0, "id": ..., "address": ..., ...},
#                  "links": {"db": {"properties": {...}, "instances": [{"address": ...}], "address": ...}}}
# Defaults come from the job's own spec; only properties the spec declares exist.
require "erb"
require "json"
require "yaml"
require "ostruct"
require "shellwords"

class UnknownProperty < StandardError; end

module PropertyLookup
  def self.dig(hash, dotted)
    dotted.split(".").reduce(hash) do |node, key|
      return nil unless node.is_a?(Hash) && node.key?(key)
      node[key]
    end
  end
end

class IfResult
  def initialize(matched) = @matched = matched
  def else
    yield unless @matched
    self
  end
  def else_if_p(*names, &block)
    return self if @matched
    @matched = @ctx.send(:if_p_impl, *names, &block)
    self
  end
  attr_writer :ctx
end

class Link
  def initialize(data) = @data = data
  def p(name, *default)
    value = PropertyLookup.dig(@data.fetch("properties", {}), name)
    return value unless value.nil?
    return default.first unless default.empty?
    raise UnknownProperty, "link property '#{name}' is not set"
  end
  def if_p(*names)
    values = names.map { |n| PropertyLookup.dig(@data.fetch("properties", {}), n) }
    matched = values.none?(&:nil?)
    yield(*values) if matched
    IfResult.new(matched)
  end
  def instances = @data.fetch("instances", []).map { |i| OpenStruct.new(i) }
  def address = @data.fetch("address")
end

class Context
  def initialize(spec, ctx)
    @declared = (spec["properties"] || {})
    @manifest = ctx.fetch("properties", {})
    @spec_data = {"name" => spec["name"], "index" => 0, "id" => "uuid-0", "address" => "10.0.0.10",
                  "ip" => "10.0.0.10", "az" => "z1", "deployment" => "test", "bootstrap" => true,
                  "networks" => {}, "job" => {"name" => spec["name"]}, "release" => {"name" => "sample"}}
                 .merge(ctx.fetch("spec", {}))
    @links = ctx.fetch("links", {})
  end

  def lookup(name)
    raise UnknownProperty, "property '#{name}' is not declared in the job spec" unless @declared.key?(name)
    value = PropertyLookup.dig(@manifest, name)
    value.nil? ? @declared[name]["default"] : value
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

  def if_p(*names, &block)
    result = IfResult.new(if_p_impl(*names, &block))
    result.ctx = self
    result
  end

  def spec = JSON.parse(@spec_data.to_json, object_class: OpenStruct)
  def name = @spec_data["job"]["name"] || @spec_data["name"]
  def index = @spec_data["index"]

  # BOSH v1 accessor: properties.a.b (every declared property, manifest value over default)
  def properties
    tree = {}
    @declared.each_key do |dotted|
      value = lookup(dotted)
      *path, last = dotted.split(".")
      path.reduce(tree) { |node, key| node[key] ||= {} }[last] = value
    end
    JSON.parse(tree.to_json, object_class: OpenStruct)
  end

  def link(name)
    raise UnknownProperty, "link '#{name}' is not provided" unless @links.key?(name)
    Link.new(@links[name])
  end

  def if_link(name)
    matched = @links.key?(name)
    yield Link.new(@links[name]) if matched
    IfResult.new(matched)
  end

  def render(text) = ERB.new(text, trim_mode: "-").result(binding)
end

spec = YAML.safe_load(File.read(ARGV[0])) || {}
ctx = JSON.parse(File.read(ARGV[2]))
begin
  $stdout.write(Context.new(spec, ctx).render(File.read(ARGV[1])))
rescue UnknownProperty => e
  warn "render error: #{e.message}"
  exit 3
end
