#!/usr/bin/env bash
# The benches and the main GPU-against-CPU tests on a machine without a Rust
# toolchain (the GPU machine some sessions are lent, reached through the
# workplace's device tool: one NVIDIA GPU, Vulkan, x86-64, no network), in
# two steps:
#
#   bash benches/device.sh prepare      # here: builds the bench and test
#                                       # binaries into .device/bin and fetches
#                                       # the Vulkan loader's packages into .device/gl
#   bash benches/device.sh run [DIR]    # there, in the repository's root, with
#                                       # .device carried: unpacks the loader,
#                                       # runs each binary with a time limit,
#                                       # one log per binary in DIR ($OUT, else
#                                       # device-out)
#
# `run` also works here (on lavapipe, say) once `prepare` has run: it then
# skips the loader unless the packages are there and it is root. Each bench
# runs with few repeats (`BENCH_REPEATS`, default 3) and each binary under
# `timeout` (`DEVICE_LIMIT_S` seconds, default 120), so that the whole run
# fits one call of the device tool (10 minutes); a binary that runs out of
# time or fails is reported in `summary.txt` and the others still run.
# `.device/` is ignored by git and is about 50 MiB (the device tool carries
# at most 64).
set -euo pipefail
cd "$(dirname "$0")/.."

BENCHES=(throughput floor softmax softmax_floor epilogue)
TESTS=(softmax differential pytorch_values)

prepare() {
    rm -rf .device/bin
    mkdir -p .device/bin .device/gl
    local listing
    listing=$(mktemp)
    trap 'rm -f "$listing"' RETURN
    cargo bench --no-run --message-format=json >"$listing"
    cargo test --release --no-run --message-format=json >>"$listing"
    local kind name path
    for kind in bench test; do
        local names=("${BENCHES[@]}")
        [ "$kind" = test ] && names=("${TESTS[@]}")
        for name in "${names[@]}"; do
            # The executable of the target of this kind and name (a bench and
            # a test may share a name).
            path=$(grep -F "\"kind\":[\"$kind\"]" "$listing" | grep -F "\"name\":\"$name\"" |
                grep -o '"executable":"[^"]*"' | tail -n 1 | cut -d'"' -f4)
            case "$path" in
                */release/deps/*) ;;
                *) echo "error: no release executable for $kind $name" >&2; exit 1 ;;
            esac
            cp "$path" ".device/bin/$kind-$name"
            strip ".device/bin/$kind-$name"
        done
    done
    # The Vulkan loader for the GPU machine (x86-64 Debian packages).
    if ! ls .device/gl/libvulkan1_*.deb >/dev/null 2>&1; then
        local lists
        lists=$(mktemp -d)
        mkdir -p "$lists/partial"
        local options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
        apt-get "${options[@]}" update -qq
        (cd .device/gl && apt-get "${options[@]}" download libvulkan1)
        rm -rf "$lists"
    fi
    du -sh .device
}

run() {
    local out=${1:-${OUT:-device-out}}
    mkdir -p "$out"
    local limit=${DEVICE_LIMIT_S:-120}
    export BENCH_REPEATS=${BENCH_REPEATS:-3}
    if [ "$(id -u)" = 0 ] && ls .device/gl/*.deb >/dev/null 2>&1 && ! ldconfig -p | grep -q libvulkan; then
        for f in .device/gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then
        export VK_DRIVER_FILES=$icd
    fi
    {
        date -u
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true
    } >"$out/summary.txt"
    local binary name rc start
    for binary in .device/bin/*; do
        name=$(basename "$binary")
        start=$(date +%s)
        set +e
        case "$name" in
            bench-*) timeout "$limit" "$binary" --bench >"$out/$name.log" 2>&1 ;;
            test-*) CI=true timeout "$limit" "$binary" >"$out/$name.log" 2>&1 ;;
        esac
        rc=$?
        set -e
        echo "$name: exit $rc in $(($(date +%s) - start)) s" | tee -a "$out/summary.txt"
    done
}

case "${1:-}" in
    prepare) prepare ;;
    run) run "${2:-}" ;;
    *)
        echo "usage: bash benches/device.sh prepare | run [DIR]" >&2
        exit 2
        ;;
esac
