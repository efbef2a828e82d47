#!/usr/bin/env bash
# Installs the Debian 12 packages ddpd builds, tests and runs with.
# Idempotent and quick (a dpkg query) when everything is present.
#
# Never add libboost-dev or any unversioned libboost-*-dev: they pull Boost
# 1.74 headers that conflict with libboost1.81-dev.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config git ca-certificates openssl
  clang libclang-rt-14-dev
  # libraries
  libboost1.81-dev rapidjson-dev librocksdb-dev libabsl-dev libnats-dev
  prometheus-cpp-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libre2-dev libssl-dev libjemalloc-dev
  # test peers
  nats-server
  # the image test (tests/docker): Debian's engine started by hand, a base
  # image made locally (no registry is reachable), the compose files
  docker.io mmdebstrap docker-compose
  # the admin page in a real browser (tests/js/admin.js, puppeteer-core)
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js runs the interoperability tests with real npm DDP clients. Any
# Node >= 18 with npm will do; only install Debian's when there is none.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
