#!/usr/bin/env bash
# Build the team server's image, start it with its data volume, give it an admin token, and check
# /healthz from the host. Usage: deploy/container.sh [BASE_IMAGE]
# With no BASE_IMAGE it builds one from Debian's packages first (deploy/base-image.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
engine="$(command -v podman || command -v docker)" || { echo "install podman (or docker)" >&2; exit 2; }
base="${1:-}"
if [ -z "$base" ]; then
    base="$(deploy/base-image.sh)"
fi
port="${AGENTCO_PORT:-8765}"
# the host's CA bundle (AGENTCO_CA_BUNDLE, else the system one) goes to the build as a secret, so
# pip and npm work behind a proxy that re-signs TLS; it is used by one step and not kept in the image
ca="${AGENTCO_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
secret=()
if [ -s "$ca" ]; then secret=(--secret "id=ca,src=$ca"); fi
"$engine" build --build-arg BASE_IMAGE="$base" "${secret[@]}" -t localhost/agentco:latest .
"$engine" volume create agentco-data >/dev/null 2>&1 || true
"$engine" rm -f agentco-server >/dev/null 2>&1 || true
# beyond loopback the server refuses to start without a token: make one (printed once, last line)
token="$("$engine" run --rm -v agentco-data:/data localhost/agentco:latest \
    agentco tokens create container-admin --scope admin --workspace /data/workspaces | tail -n 1)"
"$engine" run -d --name agentco-server -p "127.0.0.1:$port:8765" -v agentco-data:/data \
    --security-opt seccomp=unconfined --security-opt systempaths=unconfined localhost/agentco:latest >/dev/null
api() { curl -fsS -H "Authorization: Bearer $token" "$@"; }
field() { python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
        echo "healthz: $(curl -fsS "http://127.0.0.1:$port/healthz")"
        # one whole run of the scripted company (no model server needed): PRD to tests, its code
        # and tests run by bubblewrap inside the container, with no package index
        run="$(api -H 'content-type: application/json' -d '{"idea": "Roman numerals", "model": "fake:roman"}' \
            "http://127.0.0.1:$port/api/runs" | field id)"
        status=queued
        for _ in $(seq 1 180); do
            status="$(api "http://127.0.0.1:$port/api/runs/$run" | field status)"
            case "$status" in completed|failed|interrupted) break ;; esac
            sleep 1
        done
        api "http://127.0.0.1:$port/api/runs/$run/archive.zip" -o /tmp/agentco-container-run.zip
        echo "scripted run $run: $status; its project: $(python3 -m zipfile -l /tmp/agentco-container-run.zip | tail -n +2 | wc -l) files in the zip"
        echo "the API answers with the token; it is (shown once): $token"
        [ "$status" = completed ] && exit 0
        "$engine" logs agentco-server >&2
        exit 1
    fi
    sleep 1
done
"$engine" logs agentco-server >&2
echo "no answer from /healthz on port $port" >&2
exit 1
