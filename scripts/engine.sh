#!/usr/bin/env bash
# Installs, starts and stocks the project's own local container engine. Idempotent: whatever
# already runs or exists is kept. Usage: scripts/engine.sh [podman|docker]
# Prints the engine's DOCKER_HOST as its last line and writes it to .engine/<engine>.env.
set -euo pipefail

ENGINE="${1:-${PODGRAPH_ENGINE:-podman}}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.engine"
IMAGES="$STATE/images"
export CONTAINERS_CONF="$ROOT/engine/containers.conf"
DEBIAN_IMAGE="localhost/podgraph/debian:bookworm"
BUSYBOX_IMAGE="localhost/podgraph/busybox:latest"

log() { printf '[engine] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

mkdir -p "$STATE" "$IMAGES"

# shellcheck source=scripts/apt.sh
source "$ROOT/scripts/apt.sh"

# Answers 0 when the Docker API on the given socket replies to _ping.
pings() {
  curl -sf --max-time 2 --unix-socket "$1" http://engine/_ping >/dev/null 2>&1
}

wait_for_ping() {
  local socket="$1" name="$2" logfile="$3"
  for _ in $(seq 1 150); do
    pings "$socket" && return 0
    sleep 0.2
  done
  tail -n 20 "$logfile" >&2 || true
  die "$name did not answer on $socket"
}

start_podman() {
  apt_install podman runc catatonit conmon curl
  SOCKET="$STATE/podman.sock"
  pings "$SOCKET" && return 0
  rm -f "$SOCKET"
  log "starting podman system service on $SOCKET"
  setsid nohup podman system service --time=0 "unix://$SOCKET" >"$STATE/podman.log" 2>&1 </dev/null &
  wait_for_ping "$SOCKET" podman "$STATE/podman.log"
}

start_docker() {
  apt_install docker.io curl
  SOCKET="$STATE/docker.sock"
  pings "$SOCKET" && return 0
  rm -f "$SOCKET"
  # containerd's sockets live under the exec root, whose path must stay short.
  local exec_root
  exec_root="/run/podgraph-docker-$(printf '%s' "$ROOT" | sha1sum | cut -c1-8)"
  mkdir -p "$STATE/docker-data" "$exec_root"
  log "starting dockerd on $SOCKET"
  setsid nohup dockerd --host "unix://$SOCKET" --data-root "$STATE/docker-data" \
    --exec-root "$exec_root" --pidfile "$STATE/docker.pid" \
    --iptables=false --bridge=none >"$STATE/docker.log" 2>&1 </dev/null &
  wait_for_ping "$SOCKET" dockerd "$STATE/docker.log"
}

build_debian_rootfs() {
  local tarball="$IMAGES/debian-bookworm.tar"
  [ -s "$tarball" ] && return 0
  apt_install debootstrap
  local dir="$STATE/build/debian"
  as_root rm -rf "$dir"
  mkdir -p "$dir"
  log "debootstrap bookworm (minbase)"
  as_root debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$STATE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$STATE/debootstrap.log" >&2; die "debootstrap failed"; }
  as_root tar -C "$dir" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  as_root rm -rf "$dir"
}

build_busybox_rootfs() {
  local tarball="$IMAGES/busybox.tar"
  [ -s "$tarball" ] && return 0
  apt_install busybox-static
  local dir="$STATE/build/busybox"
  rm -rf "$dir"
  mkdir -p "$dir"/{bin,etc,tmp,root,home}
  chmod 1777 "$dir/tmp"
  chmod 700 "$dir/root"
  cp /bin/busybox "$dir/bin/busybox"
  local applet
  for applet in $("$dir/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
  printf 'root::0:0:99999:7:::\nnobody:*:0:0:99999:7:::\n' >"$dir/etc/shadow"
  chmod 640 "$dir/etc/shadow"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
  tar -C "$dir" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  rm -rf "$dir"
}

# ensure_image NAME TARBALL BUILDER CLI...: imports the tarball (built by BUILDER if missing)
# unless the engine has NAME already.
ensure_image() {
  local name="$1" tarball="$2" builder="$3"; shift 3
  if "$@" image inspect "$name" >/dev/null 2>&1; then return 0; fi
  "$builder"
  log "importing $name"
  "$@" import --change 'CMD ["/bin/sh"]' "$tarball" "$name" >"$STATE/import.log" 2>&1 \
    || { cat "$STATE/import.log" >&2; die "import of $name failed"; }
}

case "$ENGINE" in
  podman) start_podman; CLI=(podman) ;;
  docker) start_docker; CLI=(docker -H "unix://$SOCKET") ;;
  *) die "unknown engine '$ENGINE' (podman or docker)" ;;
esac

ensure_image "$DEBIAN_IMAGE" "$IMAGES/debian-bookworm.tar" build_debian_rootfs "${CLI[@]}"
ensure_image "$BUSYBOX_IMAGE" "$IMAGES/busybox.tar" build_busybox_rootfs "${CLI[@]}"

printf 'DOCKER_HOST=unix://%s\n' "$SOCKET" >"$STATE/$ENGINE.env"
printf 'DOCKER_HOST=unix://%s\n' "$SOCKET"
