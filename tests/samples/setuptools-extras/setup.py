#!/usr/bin/env python
"""Setup for imgstats: image statistics for dataset audits."""
import os

from setuptools import find_packages, setup

HERE = os.path.abspath(os.path.dirname(__file__))

with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

EXTRAS = {
    "fast": ["numpy>=1.26"],
    "plot": ["matplotlib>=3.8"],
    "dev": ["pytest>=8", "flake8"],
}
EXTRAS["all"] = EXTRAS["fast"] + EXTRAS["plot"]

setup(
    name="imgstats",
    version="0.9.2",
    description="Image statistics for dataset audits",
    long_description=long_description,
    long_description_content_type="text/markdown",
    packages=find_packages(exclude=["tests", "scripts"]),
    python_requires=">=3.9",
    install_requires=[],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["imgstats=imgstats.cli:main"]},
)
