"""The programs the smoke tests run inside the image: one source for ``dockerize-ml build``
(smoke.py) and the generated ``docker/smoke.sh``, so the two cannot drift apart."""

from __future__ import annotations

__all__ = ["IMPORT_PROBE", "SCRIPT_PROBE"]

#: Import every top-level module of the distributions given as arguments. Prints one line
#: per failure (or a summary) on stderr, then a JSON object {distribution: error or ""} as
#: its last stdout line; exits 1 when any failed.
IMPORT_PROBE = r"""import importlib, importlib.metadata as md, json, sys
SKIP = {"tests", "test", "docs", "examples", "benchmarks", "scripts"}
out = {}
for dist in sys.argv[1:]:
    try:
        d = md.distribution(dist)
    except md.PackageNotFoundError:
        out[dist] = "not installed"
        continue
    tops = (d.read_text("top_level.txt") or "").split()
    if not tops:
        packages, namespaces = set(), set()
        for f in d.files or []:
            parts = f.parts
            if not parts or parts[0] in ("..", "bin") or "." in parts[0].removesuffix(".py"):
                continue  # metadata, scripts, vendored libraries (scikit_learn.libs)
            if len(parts) == 1 and parts[0].endswith(".py"):
                packages.add(parts[0][:-3])
            elif len(parts) == 2 and parts[1] == "__init__.py":
                packages.add(parts[0])
            elif len(parts) > 1 and parts[-1].endswith(".py"):
                namespaces.add(parts[0])
        tops = sorted(packages or namespaces)
    tops = [t for t in tops if t and not t.startswith("_") and t not in SKIP] or tops[:1]
    errors = []
    for top in tops:
        try:
            importlib.import_module(top)
        except BaseException as exc:
            errors.append(f"import {top}: {type(exc).__name__}: {exc}")
    out[dist] = "; ".join(errors)
failed = {dist: error for dist, error in out.items() if error}
for dist, error in failed.items():
    print(f"smoke: FAIL: {dist}: {error}", file=sys.stderr)
if not failed:
    print(f"smoke: {len(out)} distributions import", file=sys.stderr)
sys.stderr.flush()
print(json.dumps(out))
sys.exit(1 if failed else 0)
"""

#: Import a script as a module (its path is the first argument, the entry's own arguments
#: follow and are what it sees in ``sys.argv``): top-level code runs, the ``__main__`` block
#: does not.
SCRIPT_PROBE = (
    "import importlib.util, sys; sys.argv = sys.argv[1:]; "
    'spec = importlib.util.spec_from_file_location("smoke_entry", sys.argv[0]); '
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"
)
