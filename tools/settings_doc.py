"""Write docs/settings.md from the settings declared in kiosk/settings.py.

python tools/settings_doc.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.settings import SETTINGS  # noqa: E402

HEAD = """# Settings

Each checkpoint keeps its settings in `settings.toml` in its home (plain TOML; only
values that differ from the defaults are written). Change them with
`kiosk settings set NAME VALUE` or in the window's settings (behind the admin PIN);
`kiosk settings show` lists them. Every change from either is written to the audit
log with who made it, the old and the new value. A value that cannot be read falls
back to its default with a warning in the log, so a hand-edited file never stops the
gate. The admin PIN is no setting: its salted hash lives in the checkpoint's database
(the `meta` table), set by `kiosk init` and changed with `kiosk pin set` or in the
window's settings, never with `settings set` (docs/cli.md, docs/security.md). An
`admin_pin_hash` an older Gatepass left in `settings.toml` is moved into the database
the first time the checkpoint is opened, and taken out of the file.

Each setting is one typed field of `kiosk.settings.Settings` (a frozen dataclass): its
default, and in the field's metadata its help, range and choices. The gate's rule
defaults (fever to curfew) are those of `kiosk.core.rules.RuleSettings`, and the repeat
window's is `kiosk.core.rules.REPEAT_WINDOW_S`, the one value the camera's scan loop and
a handheld scanner's repeats both use. This page is written by
`python tools/settings_doc.py`.

| setting | type | default | meaning |
| --- | --- | --- | --- |
"""


def main() -> None:
    lines = []
    for s in SETTINGS:
        extra = ""
        if s.choices:
            extra = " (one of: " + ", ".join(f"`{c!r}`" for c in s.choices) + ")"
        elif s.minimum is not None and s.maximum is not None:
            extra = f" ({s.minimum:g} to {s.maximum:g})"
        lines.append(f"| `{s.name}` | {s.type.__name__} | `{s.default!r}` | {s.help}{extra} |")
    (ROOT / "docs" / "settings.md").write_text(HEAD + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
