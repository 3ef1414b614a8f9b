"""Turn off JupyterLab's "get notified about Jupyter news?" pop-up for this user, unless already decided.

Writes ``{"fetchNews": "false"}`` to ``<user settings>/@jupyterlab/apputils-extension/notification.jupyterlab-settings``
(the setting that stops the toast; ``--LabApp.news_url=None`` does not), only when that file does not exist, so a
choice the user made stays. The settings folder is ``JUPYTERLAB_SETTINGS_DIR`` or ``jupyter lab path``'s.
Prints what it did in one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def settings_dir() -> Path:
    env = os.environ.get("JUPYTERLAB_SETTINGS_DIR")
    if env:
        return Path(env).expanduser()
    out = subprocess.run([sys.executable, "-m", "jupyterlab", "path"], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        if line.startswith("User Settings directory:"):
            return Path(line.split(":", 1)[1].strip())
    raise SystemExit("lab_no_news: 'jupyter lab path' printed no user settings directory")


def main() -> int:
    target = settings_dir() / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    if target.exists():
        print(f"JupyterLab news setting kept as it is ({target})")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"fetchNews": "false"}) + "\n", encoding="utf-8")
    print(f"JupyterLab news pop-up turned off ({target})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
