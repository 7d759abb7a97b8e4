"""Print when each run started. python-dateutil is neither declared nor imported by name
where a reader of the code sees it: the parser module is named in a string (a plugin
setting, as tools that load their backends by name do), so only the run finds it missing."""

import importlib

from tabulate import tabulate

PARSER = "dateutil.parser"  # the backend, chosen by name
isoparse = importlib.import_module(PARSER).isoparse

print(tabulate([["run-1", isoparse("2026-11-30T08:00:00").strftime("%A %H:%M")]]))
