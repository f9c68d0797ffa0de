#!/usr/bin/env bash
# Installs a Docker engine for tests/image.rs: Debian's docker.io (dockerd, containerd, runc and
# a docker CLI with BuildKit built in) when dockerd is missing. Idempotent, never reads stdin,
# starts nothing: the test starts its own dockerd in a temp dir. Needs root (or sudo -n).
set -euo pipefail
exec </dev/null
export DEBIAN_FRONTEND=noninteractive

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
        echo "tests/setup/docker.sh: need root to install docker.io" >&2; exit 1
    fi
}

# Present: dockerd, and a docker CLI that can use BuildKit (docker.io's own /usr/bin/docker, or any
# docker with the buildx plugin).
if command -v dockerd >/dev/null && { [ -x /usr/bin/docker ] || docker buildx version >/dev/null 2>&1; }; then
    echo "docker: $(dockerd --version) already installed"
    exit 0
fi

as_root apt-get update -qq
# The package's docker and containerd services must not start: the test runs its own engine.
# policy-rc.d is Debian's switch for that; ours is removed after.
policy=/usr/sbin/policy-rc.d created=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    created=1
fi
status=0
as_root apt-get install -y -qq --no-install-recommends docker.io >/dev/null || status=$?
if [ "$created" -eq 1 ]; then as_root rm -f "$policy"; fi
if [ "$status" -ne 0 ]; then
    echo "tests/setup/docker.sh: apt-get install docker.io failed ($status)" >&2
    exit "$status"
fi
echo "docker: installed $(dockerd --version)"
