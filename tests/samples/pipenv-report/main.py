"""Weekly events report: python main.py [CSV]."""

import sys

from report.build import summarise

if __name__ == "__main__":
    print(summarise(sys.argv[1] if len(sys.argv) > 1 else "data/events.csv"))
