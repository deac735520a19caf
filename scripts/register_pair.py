"""Add (or replace) a bundled model pair: copy two `vqseg-train` exports into the package and
record them, with their sha256, in `src/vqseg_core/pretrained/weights/registry.json`.

    python scripts/register_pair.py NAME UNET.json VQUNET.json --description "..." \
        --detail training_data="..." --detail caveats="..." [--detail key=value ...]

The held-out Dice is read from the exports themselves (`validation_dice`).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "vqseg_core" / "pretrained" / "weights"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("name")
    p.add_argument("unet", type=Path)
    p.add_argument("vqunet", type=Path)
    p.add_argument("--description", required=True)
    p.add_argument("--detail", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()
    files, sha, dice = {}, {}, {}
    for key, path in (("unet", args.unet), ("vqunet", args.vqunet)):
        meta = json.loads(path.read_text(encoding="utf-8"))
        for src in (path, path.parent / meta["weights_file"]):
            shutil.copyfile(src, WEIGHTS / src.name)
        files[key], sha[key] = path.name, meta["sha256"]
        dice[key] = meta["config"].get("validation_dice")
    details = dict(item.split("=", 1) for item in args.detail)
    details["validation_dice"] = dice
    registry_path = WEIGHTS / "registry.json"
    registry = json.loads(registry_path.read_text(encoding="utf-8"))
    registry["pairs"][args.name] = {
        "description": args.description,
        "files": files,
        "sha256": sha,
        "details": details,
    }
    registry_path.write_text(json.dumps(registry, indent=2) + "\n", encoding="utf-8")
    print(f"registered {args.name}: {files}")


if __name__ == "__main__":
    main()
