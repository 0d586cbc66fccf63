"""Build-time check of the image: every module of the project imports, and the native codec loads.

Run by the Containerfile's build stage; a module that fails to import (a stale file, a missing
dependency) fails the build instead of a pod at start-up.
"""

import importlib
import pkgutil
import sys

PACKAGES = ("gamemetrics", "schemas", "store", "streams", "ingest", "processors", "recommender", "graphql_api",
            "retention", "operations")


def main() -> int:
    import gamemetrics_avro  # noqa: F401 - the Rust codec must be in the image

    failed = []
    count = 0
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if module.name.endswith("__main__"):
                continue
            try:
                importlib.import_module(module.name)
                count += 1
            except Exception as exc:  # noqa: BLE001 - report every broken module, then fail
                failed.append(f"{module.name}: {type(exc).__name__}: {exc}")
    for line in failed:
        print(line, file=sys.stderr)
    print(f"{count} modules import, {len(failed)} fail")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
