#!/usr/bin/env bash
# The Docker image for real: build docker/Dockerfile, run it, connect a real
# DDP client (ddp.js) to the container, write, restart the container and
# find the data still there; the health check, the non-root user, SIGTERM;
# then docker/compose.yml and docker/compose.cluster.yml (three nats-server
# containers and two ddpd nodes: a write on one is read on the other).
#
#   tests/docker/image_test.sh <repo root>
#   DDPD_TEST_IMAGE=ddpd:dev tests/docker/image_test.sh .   (an image built before; no build)
#
# Uses the Docker engine that runs, or starts Debian's dockerd by hand with
# its state in a temporary folder (root needed; no image can be pulled
# here, so the Debian base image is made by mmdebstrap and imported). Prints
# the image size, the build time and the cold start time to ready, which
# bench/RESULTS.md reports.
set -euo pipefail
root=$(cd "$1" && pwd)
client="node $root/tests/js/docker_client.js"
w=$(mktemp -d /tmp/ddpd-docker.XXXXXX)
tag=${DDPD_TEST_IMAGE:-ddpd:ci-$$}
project=ddpdci$$
started_engine=""
containers=()

log() { echo "image_test: $*"; }
fail() {
  echo "image_test: FAIL: $*" >&2
  exit 1
}

cleanup() {
  set +e
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1; done
  for f in compose.yml compose.cluster.yml; do
    DDPD_IMAGE=$tag NATS_IMAGE=ddpd-nats:ci-$$ docker-compose -p "$project" -f "$root/docker/$f" \
      down -v >/dev/null 2>&1
  done
  docker volume rm -f "$project-data" >/dev/null 2>&1
  [ -n "${DDPD_TEST_IMAGE:-}" ] || docker rmi -f "$tag" >/dev/null 2>&1
  docker rmi -f "ddpd-nats:ci-$$" >/dev/null 2>&1
  if [ -n "$started_engine" ]; then
    kill "$(cat "$w/pid")" 2>/dev/null
    for _ in $(seq 100); do [ -e "$w/pid" ] || break; sleep 0.1; done
  fi
  rm -rf "$w" 2>/dev/null || true
}
trap cleanup EXIT

# -- the engine ----------------------------------------------------------
for cmd in docker dockerd mmdebstrap docker-compose node; do
  command -v "$cmd" >/dev/null || fail "$cmd is not installed (scripts/install-deps.sh installs it)"
done
if docker info >/dev/null 2>&1; then
  log "using the Docker engine that runs"
else
  log "starting dockerd (state in $w)"
  dockerd --data-root "$w/data" --exec-root "$w/exec" --pidfile "$w/pid" >"$w/dockerd.log" 2>&1 &
  started_engine=1
  for _ in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
  docker info >/dev/null 2>&1 || { cat "$w/dockerd.log" >&2; fail "dockerd did not start"; }
fi

# -- the base image --------------------------------------------------------
# Debian's minbase without documentation, manual pages and locales, as
# the registry's debian:bookworm-slim is made; it serves both stages.
if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  log "making debian:bookworm-slim with mmdebstrap"
  mmdebstrap --quiet --variant=minbase \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    bookworm "$w/rootfs.tar" >"$w/mmdebstrap.log" 2>&1 || { cat "$w/mmdebstrap.log" >&2; fail "mmdebstrap"; }
  docker import "$w/rootfs.tar" debian:bookworm-slim >/dev/null
  rm -f "$w/rootfs.tar"
fi
docker image inspect debian:bookworm >/dev/null 2>&1 || docker tag debian:bookworm-slim debian:bookworm

# -- build -----------------------------------------------------------------
t0=$(date +%s)
if [ -z "${DDPD_TEST_IMAGE:-}" ]; then
  log "building $tag"
  docker build -q -f "$root/docker/Dockerfile" -t "$tag" "$root" >"$w/build.log" 2>&1 ||
    { tail -50 "$w/build.log" >&2; fail "docker build"; }
fi
build_s=$(( $(date +%s) - t0 ))
size=$(docker image inspect "$tag" --format '{{.Size}}')
base=$(docker image inspect debian:bookworm-slim --format '{{.Size}}')
log "image size $(( size / 1000000 )) MB (base $(( base / 1000000 )) MB, ddpd's layers $(( (size - base) / 1000000 )) MB), built in ${build_s} s"

# -- run, write, restart, read ----------------------------------------------
c=ddpd-ci-$$
containers+=("$c")
docker volume create "$project-data" >/dev/null
start_ns=$(date +%s%N)
docker run -d --name "$c" -p 127.0.0.1::3000 -v "$project-data:/data" "$tag" >/dev/null
port=$(docker port "$c" 3000/tcp | head -1 | sed 's/.*://')
$client ready "$port" 60000 >/dev/null || { docker logs "$c" >&2; fail "the container never got ready"; }
cold_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
log "cold start (docker run to /readyz 200): ${cold_ms} ms"

[ "$(docker exec "$c" id -u)" = 10001 ] || fail "ddpd does not run as its own user"
[ "$(docker exec "$c" stat -c %U /data)" = ddpd ] || fail "/data is not ddpd's"

$client write "$port" persisted 50
$client read "$port" persisted 50

# The health check reports healthy (it probes /readyz every 5 s).
for _ in $(seq 120); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ] && break
  sleep 0.5
done
[ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ] ||
  fail "health: $(docker inspect -f '{{json .State.Health}}' "$c")"

# SIGTERM: a clean exit (0), not Docker's SIGKILL after 10 s (137).
docker stop -t 10 "$c" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$c")
[ "$code" = 0 ] || { docker logs "$c" >&2; fail "ddpd exited with $code on SIGTERM"; }
docker logs "$c" 2>&1 | grep -q 'received SIGTERM' || fail "no SIGTERM in the log"
docker start "$c" >/dev/null
port=$(docker port "$c" 3000/tcp | head -1 | sed 's/.*://')
$client ready "$port" 60000 >/dev/null || { docker logs "$c" >&2; fail "not ready after restart"; }
$client read "$port" persisted 50
log "data kept across a restart"

# A new container on the same volume finds it too.
docker rm -f "$c" >/dev/null
c2=ddpd-ci2-$$
containers+=("$c2")
docker run -d --name "$c2" -p 127.0.0.1::3000 -v "$project-data:/data" "$tag" >/dev/null
port=$(docker port "$c2" 3000/tcp | head -1 | sed 's/.*://')
$client ready "$port" 60000 >/dev/null || { docker logs "$c2" >&2; fail "second container not ready"; }
$client read "$port" persisted 50
docker rm -f "$c2" >/dev/null
log "data kept in the volume for a new container"

# -- compose: one node -------------------------------------------------------
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'; }
compose() { DDPD_IMAGE=$tag NATS_IMAGE=ddpd-nats:ci-$$ docker-compose -p "$project" "$@"; }
p1=$(free_port)
DDPD_HOST_PORT=$p1 compose -f "$root/docker/compose.yml" up -d >"$w/compose.log" 2>&1 ||
  { cat "$w/compose.log" >&2; fail "compose up"; }
$client ready "$p1" 60000 >/dev/null || { compose -f "$root/docker/compose.yml" logs >&2; fail "compose node not ready"; }
$client write "$p1" composed 10
compose -f "$root/docker/compose.yml" restart >/dev/null 2>&1
$client ready "$p1" 60000 >/dev/null
$client read "$p1" composed 10
compose -f "$root/docker/compose.yml" logs 2>&1 | grep -q '"level":"info"' || fail "compose.yml asks for JSON logs"
DDPD_HOST_PORT=$p1 compose -f "$root/docker/compose.yml" down -v >/dev/null 2>&1
log "compose.yml: written, restarted, read"

# -- compose: the cluster -----------------------------------------------------
p1=$(free_port)
p2=$(free_port)
export DDPD1_HOST_PORT=$p1 DDPD2_HOST_PORT=$p2
compose -f "$root/docker/compose.cluster.yml" build -q nats1 >"$w/nats-build.log" 2>&1 ||
  { cat "$w/nats-build.log" >&2; fail "building the nats image"; }
compose -f "$root/docker/compose.cluster.yml" up -d >"$w/cluster.log" 2>&1 ||
  { cat "$w/cluster.log" >&2; fail "compose up (cluster)"; }
if ! $client ready "$p1" 120000 >/dev/null || ! $client ready "$p2" 120000 >/dev/null; then
  compose -f "$root/docker/compose.cluster.yml" logs >&2
  fail "cluster nodes not ready"
fi
# Right after the cluster forms, JetStream is still electing its leaders: a
# first write (or connect) can fail then (seen in CI: a connect that timed
# out after both nodes were ready; to be looked into, see the session 13
# note). Up to five attempts, each on a topic of its own.
topic=""
for attempt in 1 2 3 4 5; do
  if $client write "$p1" "clustered$attempt" 20; then topic="clustered$attempt"; break; fi
  log "cluster write attempt $attempt failed; retrying"
  sleep 3
done
[ -n "$topic" ] ||
  { compose -f "$root/docker/compose.cluster.yml" logs >&2; fail "writing to cluster node 1"; }
$client wait "$p2" "$topic" 20 ||
  { compose -f "$root/docker/compose.cluster.yml" logs >&2; fail "node 2 did not get node 1's writes"; }
$client write "$p2" clustered2 5 ||
  { compose -f "$root/docker/compose.cluster.yml" logs >&2; fail "writing to cluster node 2"; }
$client wait "$p1" clustered2 5 ||
  { compose -f "$root/docker/compose.cluster.yml" logs >&2; fail "node 1 did not get node 2's writes"; }
compose -f "$root/docker/compose.cluster.yml" down -v >/dev/null 2>&1
log "compose.cluster.yml: written on one node, read on the other, both ways"
log "passed"
