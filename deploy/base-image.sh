#!/usr/bin/env bash
# A Debian bookworm base image built from Debian's own packages (debootstrap), for machines that
# reach Debian's mirror but no container registry. Usage: deploy/base-image.sh [IMAGE_NAME]
set -euo pipefail
name="${1:-localhost/agentco-base:bookworm}"
engine="$(command -v podman || command -v docker)"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | "$engine" import - "$name" >/dev/null
echo "$name"
