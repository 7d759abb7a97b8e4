"""Push results to the lab's internal tracker (only works on the lab network)."""

import labtools  # internal package, not on PyPI

if __name__ == "__main__":
    labtools.upload("results/")
