"""Print when each run started (python-dateutil is imported but not declared)."""

from dateutil.parser import isoparse
from tabulate import tabulate

print(tabulate([["run-1", isoparse("2026-11-30T08:00:00").strftime("%A %H:%M")]]))
