#!/usr/bin/env bash
# Makes a Docker engine and docker-compose available for `npm run test:stack` and
# `modelship stack up`: installs Debian's docker.io, docker-compose and mmdebstrap when they are
# missing (root, apt-get), and starts dockerd when nothing answers. The engine runs with no bridge
# and no iptables rules: every container of the stack uses the host's network, so all traffic
# stays on the loopback interface and nothing is NATed.
set -euo pipefail

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "modelship: installing ${missing[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  echo "modelship: starting dockerd (--bridge=none --iptables=false), log in /tmp/dockerd.log" >&2
  nohup dockerd --bridge=none --iptables=false >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && break
    sleep 1
  done
fi
echo "modelship: Docker engine $(docker version --format '{{.Server.Version}}'), $(docker-compose version --short 2>/dev/null | head -1 | sed 's/^/docker-compose /')" >&2
