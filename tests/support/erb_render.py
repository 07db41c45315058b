"""Render job templates with real Ruby ERB (Debian's ``ruby``) for the tests.

The tests use the tool's own renderer (``migrator/ruby_erb/render.rb`` through one Ruby process
per test process), so what the tests prove about rendering is what the tool's check relies on.
"""

from __future__ import annotations

from pathlib import Path

from migrator.ruby_erb.renderer import RenderRequest, default_renderer, ruby_available

__all__ = ["RenderError", "render", "ruby_available"]


class RenderError(RuntimeError):
    pass


def render(spec_path: Path, template: str | Path, properties: dict | None = None,
           spec: dict | None = None, links: dict | None = None) -> str:
    """Render a template (a path, or template text) as BOSH would, with the job's spec defaults."""
    # bytes, decoded by hand: text mode would turn a "\r\n" in the template into "\n"
    text = template.read_bytes().decode("utf-8") if isinstance(template, Path) else template
    context = {"properties": properties or {}, "spec": spec or {}, "links": links or {}}
    result = default_renderer().render(RenderRequest(text, context=context, spec_file=str(Path(spec_path).resolve())))
    if not result.ok:
        raise RenderError(f"render error: {result.error}: {result.message}")
    return result.output or ""
