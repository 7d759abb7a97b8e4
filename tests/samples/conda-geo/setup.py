from setuptools import find_packages, setup

setup(name="flood-risk", version="0.3.0", packages=find_packages(), install_requires=[])
