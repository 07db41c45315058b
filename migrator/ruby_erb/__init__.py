"""Rendering BOSH job templates with Ruby's own ERB, the way the director does.

The Ruby side (``render.rb``) is shipped in the package; ``contexts`` makes up the manifest
properties a render needs (spec defaults, invented values for properties without one).
"""
