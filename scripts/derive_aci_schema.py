"""Write aci_widgets/emulator/state/validation/aci_schema.json from the vendored 2023-05-01 swagger.

Usage: python scripts/derive_aci_schema.py   (tests/emulator/test_schema_bodies.py checks the file is current)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aci_widgets.emulator.state.validation.schema import SCHEMA_PATH, derive  # noqa: E402

SWAGGER = ROOT / "tests/fixtures/rest-api-specs/containerinstance/stable/2023-05-01/containerInstance.json"


def main() -> int:
    tree = derive(json.loads(SWAGGER.read_text(encoding="utf-8")))
    SCHEMA_PATH.write_text(json.dumps(tree, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    print(SCHEMA_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
