# A stand-in for quay.io/jupyter/scipy-notebook:python-3.12 (Jupyter Docker Stacks), built by
# .ci/standins.sh where no registry is reachable. It copies what generated Dockerfiles meet in
# the real image (docker-stacks-foundation's Dockerfile): Ubuntu 24.04, the ubuntu user
# replaced by jovyan (uid 1000, group users gid 100), a Python prefix at /opt/conda that
# belongs to jovyan and is first on PATH, tini as the entry point, USER jovyan, WORKDIR
# /home/jovyan. What differs: conda and its channels are unreachable here, so /opt/conda is
# CPython 3.12 compiled from the Ubuntu archive's source (a prefix like conda's, not a venv),
# with pip, and the stack's packages come from PyPI; there is no `conda`/`mamba` command.

FROM ubuntu:24.04 AS python
ARG UBUNTU_MIRROR=http://archive.ubuntu.com/ubuntu
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential curl xz-utils ca-certificates \
      libssl-dev zlib1g-dev libbz2-dev liblzma-dev libffi-dev libsqlite3-dev libreadline-dev \
      libncurses-dev libgdbm-dev uuid-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The one pipe feeds sha256sum a checksum from echo, which cannot fail.
# hadolint ignore=DL4006
RUN curl -fsS -o python.tar.xz "$UBUNTU_MIRROR/pool/main/p/python3.12/python3.12_3.12.3.orig.tar.xz" \
 && echo "56bfef1fdfc1221ce6720e43a661e3eb41785dd914ce99698d8c7896af4bdaa1  python.tar.xz" | sha256sum -c - \
 && tar -xJf python.tar.xz --strip-components=1 \
 && ./configure --prefix=/opt/conda --with-ensurepip=install >/dev/null \
 && make -j"$(nproc)" >/dev/null \
 && make install >/dev/null \
 && ln -s python3 /opt/conda/bin/python \
 && ln -s pip3 /opt/conda/bin/pip \
 && rm -rf /opt/conda/lib/python3.12/test /opt/conda/lib/python3.12/idlelib \
      /opt/conda/lib/python3.12/tkinter /opt/conda/lib/python3.12/config-3.12-x86_64-linux-gnu/*.a \
 && find /opt/conda -name __pycache__ -prune -exec rm -rf {} +

FROM ubuntu:24.04
ENV CONDA_DIR=/opt/conda \
    SHELL=/bin/bash \
    NB_USER=jovyan \
    NB_UID=1000 \
    NB_GID=100 \
    LANG=C.UTF-8 \
    LC_ALL=C.UTF-8
ENV PATH="${CONDA_DIR}/bin:${PATH}" \
    HOME="/home/${NB_USER}"
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends bzip2 ca-certificates netbase sudo tini wget \
      libssl3t64 zlib1g libbz2-1.0 liblzma5 libffi8 libsqlite3-0 libreadline8t64 libncursesw6 \
      libgdbm6t64 libuuid1 \
 && rm -rf /var/lib/apt/lists/*
# As docker-stacks-foundation does: remove the user that has uid 1000 (ubuntu), create jovyan
# in group users, and let that group write the prefix and the home.
RUN if grep -q "${NB_UID}" /etc/passwd; then userdel --remove "$(id -un "${NB_UID}")"; fi \
 && useradd --no-log-init --create-home --shell /bin/bash --uid "${NB_UID}" --no-user-group "${NB_USER}" \
 && mkdir -p "${CONDA_DIR}" \
 && chown "${NB_USER}:${NB_GID}" "${CONDA_DIR}" \
 && chmod g+w /etc/passwd
COPY --from=python --chown=1000:100 /opt/conda /opt/conda
COPY --chmod=755 start-notebook.py /usr/local/bin/start-notebook.py
# This pip (CPython's ensurepip) trusts certifi's bundle, not the system's, which holds the
# machine's proxy CA (a company CA is the same situation): point it at the system's.
RUN printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > /etc/pip.conf
# As the real image says it; NB_UID is 1000.
# hadolint ignore=DL3066
USER ${NB_UID}
# The scipy-notebook's everyday packages (a few of them) and JupyterLab, installed by jovyan
# into the prefix, as the stack's own mamba install is.
RUN pip install --no-cache-dir --no-compile jupyterlab==4.3.4 numpy==2.2.1 pandas==2.2.3 \
 && python -c "import jupyterlab, numpy, pandas"
WORKDIR "${HOME}"
EXPOSE 8888
ENTRYPOINT ["tini", "-g", "--"]
CMD ["start-notebook.py"]
