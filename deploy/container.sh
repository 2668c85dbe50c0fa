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
"$engine" build --build-arg BASE_IMAGE="$base" -t localhost/agentco:latest .
"$engine" volume create agentco-data >/dev/null 2>&1 || true
"$engine" rm -f agentco-server >/dev/null 2>&1 || true
# beyond loopback the server refuses to start without a token: make one (printed once, last line)
token="$("$engine" run --rm -v agentco-data:/data localhost/agentco:latest \
    agentco tokens create container-admin --scope admin --workspace /data/workspaces | tail -n 1)"
"$engine" run -d --name agentco-server -p "127.0.0.1:$port:8765" -v agentco-data:/data \
    --security-opt seccomp=unconfined localhost/agentco:latest >/dev/null
for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
        echo "healthz: $(curl -fsS "http://127.0.0.1:$port/healthz")"
        curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/runs" >/dev/null
        echo "the API answers with the token; it is (shown once): $token"
        exit 0
    fi
    sleep 1
done
"$engine" logs agentco-server >&2
echo "no answer from /healthz on port $port" >&2
exit 1
