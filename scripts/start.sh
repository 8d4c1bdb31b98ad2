#!/usr/bin/env bash
# Sets everything up on a fresh machine (dependencies, a local engine when none is configured,
# the test images) and starts the server. Extra arguments are ignored.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

have_engine() {
  [ -n "${DOCKER_HOST:-}${CONTAINER_HOST:-}" ] && return 0
  local socket
  for socket in /run/podman/podman.sock /var/run/docker.sock "${XDG_RUNTIME_DIR:-/nonexistent}/podman/podman.sock"; do
    [ -S "$socket" ] && return 0
  done
  return 1
}

if ! have_engine; then
  export "$(scripts/engine.sh podman | tail -n 1)"
fi

npm run -s build
# graphql-js runs costly cross-realm checks on every type test unless told it is in production.
export NODE_ENV="${NODE_ENV:-production}"
exec node dist/main.js
