"""The ``stiffbench`` command line: plugins, list, stability, gradients, cost, fit, and the main job: run, report,
compare; cache. Exit status 0 on success, 1 on an internal error, 2 on bad usage, 130 when interrupted."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from .. import runtime
from .._registry import load_registry
from ..errors import UsageError
from . import commands
from .parser import build_parser, global_option

HANDLERS: dict[str, Callable[[argparse.Namespace, Any], int]] = {
    "plugins": commands.plugins, "list": commands.list_, "stability": commands.stability,
    "gradients": commands.gradients, "cost": commands.cost, "fit": commands.fit, "run": commands.run,
    "report": commands.report,
    "compare": commands.compare, "cache": commands.cache,
}
NO_REGISTRY = ("report", "compare", "cache")
"""Commands that read records only and load no plugin."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "no_cache", False):
        os.environ["STIFFBENCH_NO_CACHE"] = "1"  # for this process and the local workers it starts
    runtime.configure()
    if args.command is None:
        parser.error("a command is required (see `stiffbench --help`)")
    debug = args.debug or bool(os.environ.get("STIFFBENCH_DEBUG"))
    try:
        if args.command in NO_REGISTRY:
            return HANDLERS[args.command](args, None)
        registry = load_registry(plugin_dirs=global_option(args, "plugins_dir"),
                                 blocked=global_option(args, "disable"))
        if registry.failures and args.command != "plugins":
            print(f"warning: {len(registry.failures)} plugin(s) failed to load: {', '.join(registry.failures)} "
                  "(see `stiffbench plugins`)", file=sys.stderr)
        return HANDLERS[args.command](args, registry)
    except UsageError as exc:
        print(f"stiffbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nstiffbench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 -- an internal error: one line, and how to see the traceback
        if debug:
            traceback.print_exc()
        print(f"stiffbench: internal error: {type(exc).__name__}: {exc}\n"
              "(this is a bug in stiffbench or in a plugin; "
              + ("the traceback is above)" if debug else "rerun with --debug or STIFFBENCH_DEBUG=1 for the traceback)"),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
