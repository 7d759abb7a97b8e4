#!/opt/conda/bin/python
"""The stand-in's start-notebook.py: the real one (Jupyter Docker Stacks) starts JupyterLab."""

import os
import sys

os.execvp("jupyter", ["jupyter", "lab", "--ip=0.0.0.0", "--no-browser", *sys.argv[1:]])
