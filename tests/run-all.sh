#!/usr/bin/env bash
# The one test command: installs what the tests need (when missing), then builds, checks
# formatting and lints, and runs every test. Safe to run again; never reads stdin.
# Meant for a Debian 12 machine as root (CI) or a developer box that already has the tools.
set -euo pipefail
cd "$(dirname "$0")/.."
exec </dev/null
export DEBIAN_FRONTEND=noninteractive

say() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
        echo "run-all.sh: need root to install: $*" >&2; exit 1
    fi
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
    # Packaged services (redis-server, dnsmasq) must not start at install: tests start their
    # own instances on free ports. policy-rc.d is Debian's switch for that; ours is removed after.
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod +x "$policy"
        created=1
    fi
    as_root apt-get install -y -qq --no-install-recommends "$@"
    if [ "$created" -eq 1 ]; then as_root rm -f "$policy"; fi
}

say "checking tools"
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
{ command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null; } || missing+=(redis-tools)
command -v dnsmasq >/dev/null || missing+=(dnsmasq)
command -v ip >/dev/null || missing+=(iproute2)
command -v cc >/dev/null || missing+=(build-essential)
command -v python3 >/dev/null || missing+=(python3)
command -v curl >/dev/null || missing+=(curl ca-certificates)
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    apt_install "${missing[@]}"
fi
# If a packaged redis-server started anyway (no policy-rc.d honoured), it is on 6379, which the
# tests never use; stop it so it costs nothing.
if command -v service >/dev/null && service redis-server status >/dev/null 2>&1; then
    as_root service redis-server stop >/dev/null 2>&1 || true
fi

# redis-py 5 or newer: RESP3 (protocol=3) arrived in 5.0.
if ! python3 -c 'import redis, sys; sys.exit(int(redis.__version__.split(".")[0]) < 5)' 2>/dev/null; then
    say "installing redis-py"
    if ! python3 -m pip --version >/dev/null 2>&1; then
        apt_install python3-pip
    fi
    # Debian's own python refuses pip installs outside a venv unless told otherwise.
    python3 -m pip install -q -U 'redis>=5' 2>/dev/null ||
        python3 -m pip install -q -U --break-system-packages 'redis>=5'
fi

if ! command -v cargo >/dev/null; then
    if [ -f "$HOME/.cargo/env" ]; then
        . "$HOME/.cargo/env"
    else
        say "installing the Rust toolchain (rustup)"
        curl -sSf https://sh.rustup.rs | sh -s -- -y -q --profile minimal -c clippy,rustfmt
        . "$HOME/.cargo/env"
    fi
fi

say "chart test tools (helm 3, helm 4, kubectl, kubernetes-validate)"
bash tests/setup/helm.sh

say "docker engine for tests/image.rs"
bash tests/setup/docker.sh

say "cargo build --release"
cargo build --release

say "cargo fmt --check"
cargo fmt --check

say "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

say "cargo test --all-targets"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --all-targets --no-fail-fast 2>&1 | tee "$log" || status=$?

say "test summary"
grep -E '^\s+Running |^test result:|^scenario |^cluster(: | tests skipped)|^e2e(: | tests skipped)|^image (built|test skipped)' "$log" || true
if [ "$status" -ne 0 ]; then
    echo "FAILED (cargo test exited $status)" >&2
    exit "$status"
fi
echo "all checks passed"
