"""The programs the smoke tests run inside the image: one source for ``dockerize-ml build``
(smoke.py) and the generated ``docker/smoke.sh``, so the two cannot drift apart."""

from __future__ import annotations

__all__ = ["IMPORT_PROBE", "SCRIPT_PROBE"]

#: Import every top-level module of the distributions given as arguments. Prints one line
#: per failure (or a summary) on stderr, then a JSON object {distribution: error or ""} as
#: its last stdout line; exits 1 when any failed.
IMPORT_PROBE = r"""import importlib, json, os, re, sys
from pathlib import PurePosixPath
SKIP = {"tests", "test", "docs", "examples", "benchmarks", "scripts"}


class Installed:
    # The installed distribution's metadata folder (Python 3.7 has no importlib.metadata).
    def __init__(self, name):
        want = re.sub(r"[-_.]+", "-", name).lower()
        for folder in sys.path:
            try:
                entries = os.listdir(folder or ".")
            except OSError:
                continue
            for entry in entries:
                stem, dot, kind = entry.rpartition(".")
                found = re.sub(r"[-_.]+", "-", stem.split("-")[0]).lower()
                if kind in ("dist-info", "egg-info") and found == want:
                    self.path = os.path.join(folder, entry)
                    return
        raise LookupError(name)

    def read_text(self, name):
        try:
            with open(os.path.join(self.path, name), encoding="utf-8") as handle:
                return handle.read()
        except OSError:
            return None

    @property
    def files(self):
        lines = (self.read_text("RECORD") or "").splitlines()
        return [PurePosixPath(line.split(",")[0]) for line in lines if line]


out = {}
for dist in sys.argv[1:]:
    try:
        d = Installed(dist)
    except LookupError:
        out[dist] = "not installed"
        continue
    tops = (d.read_text("top_level.txt") or "").split()
    if not tops:
        packages, namespaces = set(), set()
        for f in d.files or []:
            parts = f.parts
            first = parts[0] if parts else ""
            first = first[:-3] if first.endswith(".py") else first
            if not parts or parts[0] in ("..", "bin") or "." in first:
                continue  # metadata, scripts, vendored libraries (scikit_learn.libs)
            if len(parts) == 1 and parts[0].endswith(".py"):
                packages.add(parts[0][:-3])
            elif len(parts) == 2 and parts[1] == "__init__.py":
                packages.add(parts[0])
            elif len(parts) > 1 and parts[-1].endswith(".py"):
                namespaces.add(parts[0])
        tops = sorted(packages or namespaces)
    tops = [t for t in tops if t and not t.startswith("_") and t not in SKIP] or tops[:1]
    # The module named after the distribution, when it has one: the others are its
    # packaging's (mlflow 1.x ships pylint_plugins, which needs astroid, a tool of theirs).
    own = re.sub(r"[-.]+", "_", dist).lower()
    tops = [t for t in tops if t.lower() == own] or tops
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
