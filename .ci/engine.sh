#!/usr/bin/env bash
# Start a real Docker engine on a CI or development machine of this project's kind
# (Debian 12, root, no registry) and build the stand-in python:3.11-slim base image.
# See ../shared/ENGINE.md for why each step is here. Idempotent: every step is skipped
# when its result is already present.
set -euo pipefail

log() { printf '[engine] %s\n' "$*" >&2; }

DOCKER=/usr/bin/docker
BASE_TAG="python:3.11-slim"

if [ ! -x /usr/sbin/dockerd ] || [ ! -x "$DOCKER" ] || [ ! -x /usr/bin/docker-compose ] \
  || [ ! -x /usr/bin/docker-registry ] || ! command -v rsync >/dev/null 2>&1 \
  || ! command -v curl >/dev/null 2>&1; then
  # docker-registry: the local registry the CI tests push to; rsync: gitlab-ci-local needs it.
  log "installing Debian's docker.io, docker-compose, docker-registry, rsync and debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io docker-compose docker-registry \
    rsync curl debootstrap iptables >/dev/null
fi

if ! "$DOCKER" info >/dev/null 2>&1; then
  log "starting dockerd"
  # A pid file left by an engine that died with the last machine would stop a new one.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  mkdir -p /var/log
  nohup /usr/sbin/dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    if "$DOCKER" info >/dev/null 2>&1; then break; fi
    sleep 1
  done
  if ! "$DOCKER" info >/dev/null 2>&1; then
    log "dockerd did not start; last lines of /var/log/dockerd.log:"
    tail -n 30 /var/log/dockerd.log >&2 || true
    exit 1
  fi
fi
log "engine ready: $("$DOCKER" version --format '{{.Server.Version}}')"

# A local registry for the tests that push (the CI pipeline, docker/push.sh). The engine
# pushes to a loopback registry without TLS. Stop it by the pid in $REGISTRY_DIR/pid.
REGISTRY="${DOCKERIZE_ML_REGISTRY:-127.0.0.1:5000}"
REGISTRY_DIR=/var/lib/dockerize-ml-registry
if ! curl --silent --fail --output /dev/null "http://$REGISTRY/v2/"; then
  log "starting a local registry on $REGISTRY"
  mkdir -p "$REGISTRY_DIR/data"
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
    "$REGISTRY_DIR/data" "$REGISTRY" >"$REGISTRY_DIR/config.yml"
  nohup /usr/bin/docker-registry serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/log" 2>&1 &
  echo $! >"$REGISTRY_DIR/pid"
  for _ in $(seq 1 30); do
    if curl --silent --fail --output /dev/null "http://$REGISTRY/v2/"; then break; fi
    sleep 0.5
  done
  if ! curl --silent --fail --output /dev/null "http://$REGISTRY/v2/"; then
    log "the registry did not start; its log:"
    tail -n 30 "$REGISTRY_DIR/log" >&2 || true
    exit 1
  fi
fi
log "registry ready: $REGISTRY"

# The stand-ins of other bases the integration tests build on (tests/test_bases_images.py;
# python:3.7-slim for the import probe without importlib.metadata, tests/test_probes.py);
# .ci/standins.sh builds each once, and more (python:3.X-slim) on request.
standins() {
  bash "$(dirname "${BASH_SOURCE[0]}")/standins.sh" ubuntu:24.04 quay.io/jupyter/scipy-notebook:python-3.12 \
    python:3.13-slim python:3.7-slim
}

if "$DOCKER" image inspect "$BASE_TAG" >/dev/null 2>&1; then
  log "base image $BASE_TAG present (cached)"
  standins
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The Debian archive the machine's own apt sources name (no other mirror is reachable).
MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}

ROOTFS=$(mktemp -d /var/tmp/dockerize-ml-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
log "debootstrap bookworm from $MIRROR into $ROOTFS"
debootstrap --variant=minbase \
  --include=python3,python3-pip,python3-venv,python3-dev,python-is-python3,ca-certificates,adduser \
  bookworm "$ROOTFS" "$MIRROR" >/var/tmp/debootstrap.log 2>&1 || {
    log "debootstrap failed; last lines:"; tail -n 30 /var/tmp/debootstrap.log >&2; exit 1; }

# Behave like the official image: system-wide pip works, and the machine's TLS-intercepting
# proxy is trusted (the same situation as a company base image with its own CA).
rm -f "$ROOTFS"/usr/lib/python3.*/EXTERNALLY-MANAGED
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
# Keep the image small: apt lists and caches are not part of the official image either.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb

log "importing $BASE_TAG"
tar -C "$ROOTFS" -c . | "$DOCKER" import \
  -c 'ENV LANG=C.UTF-8' \
  -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["python3"]' - "$BASE_TAG" >/dev/null
log "base image $BASE_TAG built"
trap - EXIT
rm -rf "$ROOTFS"
standins
