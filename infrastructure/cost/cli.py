"""`make cost`: the estimate of a synthesized template for a profile given on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path

from cost.estimate import estimate
from cost.prices import load_prices
from cost.render import render
from cost.usage import Profile

DEFAULT_TEMPLATE = Path("cdk.out/SessionManagement-dev.template.json")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Monthly AWS cost of a stage for a usage profile.")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="synthesized CloudFormation JSON")
    defaults = Profile()
    for f in fields(Profile):
        flag = "--" + f.name.replace("_", "-")
        parser.add_argument(
            flag, type=float, default=getattr(defaults, f.name), help=f"default {getattr(defaults, f.name):g}"
        )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.template.is_file():
        print(f"{args.template} not found: synthesize the stage first (make synth STAGE=dev)", file=sys.stderr)
        return 2
    profile = Profile(**{f.name: getattr(args, f.name) for f in fields(Profile)})
    if profile.heartbeat_seconds <= 0 or profile.days <= 0:
        print("--heartbeat-seconds and --days must be positive", file=sys.stderr)
        return 2
    report = estimate(json.loads(args.template.read_text()), profile, load_prices())
    print(json.dumps({"template": str(args.template), **asdict(report)}, indent=2) if args.json else render(report))
    return 0
