#!/usr/bin/env bash
# Stand-ins for base images no registry serves here (../shared/ENGINE.md: no registry is
# reachable; Debian's and Ubuntu's archives and PyPI are). Each is built from those archives
# with the users and the Python layout of the real image, and tagged with the real name, so
# generated Dockerfiles build unchanged. Cached: a tag that exists is skipped.
#
# Usage: bash .ci/standins.sh TAG...     for example
#   bash .ci/standins.sh ubuntu:24.04 quay.io/jupyter/scipy-notebook:python-3.12
#   bash .ci/standins.sh python:3.10-slim
# Tags: ubuntu:24.04, quay.io/jupyter/scipy-notebook:python-3.12, and python:3.X-slim for
# 3.7 (Ubuntu bionic's universe), 3.8 (focal), 3.9 (Debian bullseye), 3.10 (jammy),
# 3.11 (bookworm, the one .ci/engine.sh builds), 3.12 (noble), 3.13 (trixie), 3.14 (forky,
# Debian testing).
set -euo pipefail

log() { printf '[standins] %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

DOCKER=${DOCKER:-/usr/bin/docker}
UBUNTU=${UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}
DEBIAN=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
DEBIAN=${DEBIAN:-http://deb.debian.org/debian}
WORK=$(mktemp -d /var/tmp/dockerize-ml-standins.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Ubuntu's archive key, from the archive itself (Debian 12 has no ubuntu-keyring package):
# trusted on first use, over the same proxy everything else comes through; the packages
# debootstrap fetches are then checked against the Release file it signs.
ubuntu_keyring() {
  local deb=$WORK/ubuntu-keyring.deb
  if [ ! -f "$WORK/ubuntu-archive-keyring.gpg" ]; then
    curl -fsS -o "$deb" "$UBUNTU/pool/main/u/ubuntu-keyring/ubuntu-keyring_2023.11.28.1_all.deb"
    echo "36de43b15853ccae0028e9a767613770c704833f82586f28eb262f0311adb8a8  $deb" | sha256sum -c - >/dev/null
    dpkg-deb -x "$deb" "$WORK/keyring"
    cp "$WORK/keyring/usr/share/keyrings/ubuntu-archive-keyring.gpg" "$WORK/ubuntu-archive-keyring.gpg"
  fi
  echo "$WORK/ubuntu-archive-keyring.gpg"
}

# debootstrap SUITE into a fresh folder (minbase); prints the folder.
bootstrap() {
  local suite=$1 include=$2 rootfs=$WORK/rootfs-$1 args=(--variant=minbase)
  [ -n "$include" ] && args+=("--include=$include")
  case $suite in
    bionic | focal | jammy | noble)
      args+=("--components=main,universe" "--keyring=$(ubuntu_keyring)")
      # Debian 12's debootstrap has no script for noble; every Ubuntu since gutsy uses one.
      debootstrap "${args[@]}" "$suite" "$rootfs" "$UBUNTU" /usr/share/debootstrap/scripts/gutsy \
        >"$WORK/debootstrap-$suite.log" 2>&1 || { tail -n 30 "$WORK/debootstrap-$suite.log" >&2; exit 1; }
      ;;
    forky)
      # Debian 12's debootstrap has no script for forky; sid's is the one testing uses.
      debootstrap "${args[@]}" "$suite" "$rootfs" "$DEBIAN" /usr/share/debootstrap/scripts/sid \
        >"$WORK/debootstrap-$suite.log" 2>&1 || { tail -n 30 "$WORK/debootstrap-$suite.log" >&2; exit 1; }
      ;;
    *)
      debootstrap "${args[@]}" "$suite" "$rootfs" "$DEBIAN" \
        >"$WORK/debootstrap-$suite.log" 2>&1 || { tail -n 30 "$WORK/debootstrap-$suite.log" >&2; exit 1; }
      ;;
  esac
  # The machines reach the archives and PyPI through a TLS-intercepting proxy: trust its CA
  # (the same situation as a company base image with its own CA).
  # Also where update-ca-certificates finds it, so installing ca-certificates keeps it.
  mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/usr/local/share/ca-certificates"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/ca-certificates/host-ca-bundle.crt"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  echo "$rootfs"
}

# The apt sources of the real image (debootstrap writes only main of the one suite).
ubuntu_sources() {
  local rootfs=$1 suite=$2
  rm -f "$rootfs/etc/apt/sources.list"
  cat >"$rootfs/etc/apt/sources.list.d/ubuntu.sources" <<EOF
Types: deb
URIs: $UBUNTU
Suites: $suite $suite-updates $suite-security
Components: main restricted universe multiverse
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg
EOF
  mkdir -p "$rootfs/usr/share/keyrings"
  cp "$(ubuntu_keyring)" "$rootfs/usr/share/keyrings/ubuntu-archive-keyring.gpg"
}

import_rootfs() {
  local rootfs=$1 tag=$2
  shift 2
  tar -C "$rootfs" -c . | "$DOCKER" import \
    -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$@" - "$tag" >/dev/null
}

# ubuntu:24.04 as Docker Hub has it: user ubuntu, uid and gid 1000 (since 24.04), no Python.
build_ubuntu() {
  local rootfs
  rootfs=$(bootstrap noble "")
  ubuntu_sources "$rootfs" noble
  chroot "$rootfs" groupadd --gid 1000 ubuntu
  chroot "$rootfs" useradd --uid 1000 --gid 1000 --create-home --shell /bin/bash ubuntu
  import_rootfs "$rootfs" ubuntu:24.04 -c 'CMD ["/bin/bash"]'
}

# Ubuntu's packages of the release's -updates (a release's own suite can be old: bionic's
# python3.7 there is 3.7.0b3), installed in the chroot through the real image's sources.
ubuntu_install() {
  local rootfs=$1
  shift
  chroot "$rootfs" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/*
}

# python:X.Y-slim: `python` and `python3` are X.Y, with pip and venv, pip usable system-wide.
build_python() {
  local version=$1 suite packages rootfs
  packages="python3 python3-pip python3-venv python3-dev python-is-python3 ca-certificates adduser"
  case $version in
    3.7) suite=bionic packages="python3.7 python3.7-venv python3.7-dev python3-pip python3-distutils ca-certificates adduser" ;;
    3.8) suite=focal ;;
    3.9) suite=bullseye ;;
    3.10) suite=jammy ;;
    3.11) suite=bookworm ;;
    3.12) suite=noble ;;
    3.13) suite=trixie ;;
    3.14) suite=forky ;;
    *) die "no stand-in for python:$version-slim (3.7 to 3.14)" ;;
  esac
  case $suite in
    bionic | focal | jammy | noble)
      rootfs=$(bootstrap "$suite" "")
      ubuntu_sources "$rootfs" "$suite"
      # shellcheck disable=SC2086 # a list of package names
      ubuntu_install "$rootfs" $packages
      ;;
    *) rootfs=$(bootstrap "$suite" "${packages// /,}") ;;
  esac
  rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
  if [ "$version" = 3.7 ]; then
    # Bionic's python3 is 3.6 and its pip (9) too old for today's wheels: 3.7 gets the last
    # pip that supports it, from PyPI, and the official image's names point at 3.7.
    python3 -m pip download --quiet --no-deps --dest "$rootfs/tmp" "pip==24.0"
    chroot "$rootfs" python3.7 /tmp/pip-24.0-py3-none-any.whl/pip install --quiet --no-index /tmp/pip-24.0-py3-none-any.whl
    rm -f "$rootfs"/tmp/pip-*.whl
    # That pip trusts certifi's bundle, not the system's (Debian's and Ubuntu's own pips are
    # patched to): point it at the system's, which holds the proxy's CA.
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
    # A venv gets its pip from the wheels ensurepip installs: bionic's are pip 9.0.1, too old
    # for today's index (it cannot even reach it here); the official image's venv gets
    # CPython 3.7.17's bundled pip 23.0.1 and setuptools 57.5.0, so these replace them.
    rm -f "$rootfs"/usr/share/python-wheels/pip-*.whl "$rootfs"/usr/share/python-wheels/setuptools-*.whl
    python3 -m pip download --quiet --no-deps --dest "$rootfs/usr/share/python-wheels" \
      "pip==23.0.1" "setuptools==57.5.0"
    ln -sf /usr/bin/python3.7 "$rootfs/usr/local/bin/python3"
    ln -sf /usr/bin/python3.7 "$rootfs/usr/local/bin/python"
  fi
  local got
  got=$(chroot "$rootfs" /usr/bin/env PATH=/usr/local/bin:/usr/bin:/bin python -c \
    'import sys, pip, venv; print("%d.%d" % sys.version_info[:2])')
  [ "$got" = "$version" ] || die "python:$version-slim stand-in has Python $got"
  # A venv made in it has a pip that today's index serves (>= 20), as the official image's.
  local venv_pip
  venv_pip=$(chroot "$rootfs" /usr/bin/env PATH=/usr/local/bin:/usr/bin:/bin sh -c \
    'python -m venv /tmp/venv-check && /tmp/venv-check/bin/python -m pip --version' | awk '{print $2}')
  rm -rf "$rootfs/tmp/venv-check"
  [ "${venv_pip%%.*}" -ge 20 ] || die "python:$version-slim stand-in: a venv gets pip $venv_pip"
  import_rootfs "$rootfs" "python:$version-slim" -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]'
}

# Jupyter Docker Stacks (quay.io/jupyter/*-notebook) on ubuntu:24.04 as the real ones are:
# user jovyan uid 1000 in group users (gid 100), the ubuntu user removed, a Python prefix at
# /opt/conda owned by jovyan, USER jovyan, WORKDIR /home/jovyan. conda and its channels are
# unreachable here, so /opt/conda is CPython compiled from the Ubuntu archive's source
# (a real prefix, not a venv), with pip, and the stack's packages from PyPI.
build_jupyter() {
  local tag=$1
  "$DOCKER" image inspect ubuntu:24.04 >/dev/null 2>&1 || build_ubuntu
  DOCKER_BUILDKIT=1 "$DOCKER" build --quiet --tag "$tag" \
    --build-arg "UBUNTU_MIRROR=$UBUNTU" -f "$HERE/jupyter-standin.Dockerfile" "$HERE" >/dev/null
}

[ $# -gt 0 ] || die "usage: bash .ci/standins.sh TAG... (ubuntu:24.04, quay.io/jupyter/scipy-notebook:python-3.12, python:3.X-slim)"
for tag in "$@"; do
  if "$DOCKER" image inspect "$tag" >/dev/null 2>&1; then
    log "$tag present (cached)"
    continue
  fi
  start=$SECONDS
  case $tag in
    ubuntu:24.04) build_ubuntu ;;
    quay.io/jupyter/scipy-notebook:python-3.12) build_jupyter "$tag" ;;
    python:3.*-slim) version=${tag#python:} && build_python "${version%-slim}" ;;
    *) die "no stand-in for $tag" ;;
  esac
  log "$tag built in $((SECONDS - start)) s"
done
