"""Render job templates with real Ruby ERB (Debian's ``ruby``) through ``render.rb``."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

RENDER_RB = Path(__file__).with_name("render.rb")


class RenderError(RuntimeError):
    pass


def ruby_available() -> bool:
    return shutil.which("ruby") is not None


def render(spec_path: Path, template: str | Path, properties: dict | None = None,
           spec: dict | None = None, links: dict | None = None) -> str:
    """Render a template (a path, or template text) as BOSH would, with the job's spec defaults."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp) / "ctx.json"
        ctx.write_text(json.dumps({"properties": properties or {}, "spec": spec or {}, "links": links or {}}))
        if not isinstance(template, Path):
            path = Path(tmp) / "template.erb"
            path.write_text(template)
            template = path
        # bytes, decoded by hand: text mode would turn a rendered "\r" into "\n"
        proc = subprocess.run(["ruby", str(RENDER_RB), str(spec_path), str(template), str(ctx)],
                              capture_output=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise RenderError(proc.stderr.decode("utf-8", "replace").strip() or f"ruby exited {proc.returncode}")
    return proc.stdout.decode("utf-8")
