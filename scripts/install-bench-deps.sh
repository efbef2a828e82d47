#!/usr/bin/env bash
# Installs what `make bench-compare` needs beyond the build (the peers it is
# compared with, their client libraries, gnuplot). Not part of
# install-deps.sh: neither CI nor `make test` needs them. Idempotent and
# quick (a dpkg query) when everything is present.
set -euo pipefail

packages=(
  redis-server mosquitto nats-server   # the servers ddpd is compared with
  libhiredis-dev libmosquitto-dev libnats-dev  # the load generator's clients
  gnuplot-nox                          # plots
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-bench-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
