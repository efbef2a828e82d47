#!/usr/bin/env bash
# Installs the SDK from a build tree, builds examples/ against the installed
# package as a separate project would (find_package(ddp)), starts the
# installed ddpd and runs every example against it.
#
#   run_examples.sh <build dir> <source dir> [extra compiler/linker flags]
set -euo pipefail
build=$1
src=$2
flags=${3:-}
work=$(mktemp -d)
ddpd_pid=
cleanup() {
  if [[ -n $ddpd_pid ]]; then kill "$ddpd_pid" 2>/dev/null || true; wait "$ddpd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
test -f "$work/prefix/lib/cmake/ddp/ddpConfig.cmake"
test -f "$work/prefix/include/ddp/client/client.h"
cmake -S "$src/examples" -B "$work/ex" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" > "$work/configure.log"
cmake --build "$work/ex" -j2 > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }

"$work/prefix/bin/ddpd" --port 0 --bind 127.0.0.1 --data-dir "$work/data" > "$work/ddpd.log" 2>&1 &
ddpd_pid=$!
port=
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/ddpd.log" | head -1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { echo "ddpd did not start"; cat "$work/ddpd.log"; exit 1; }

for example in chat_room dashboard transfer; do
  echo "== $example"
  "$work/ex/$example" "ws://127.0.0.1:$port/websocket"
done
echo "all examples passed"
