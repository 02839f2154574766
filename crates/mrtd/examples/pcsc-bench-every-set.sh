#!/bin/sh
# The whole read through a real pcscd, per PACE parameter set and mapping (issue 18): starts
# its own pcscd with the vpcd driver (in a private mount namespace, as the gatectl chip tests
# do; needs root, pcscd and vsmartcard-vpcd), then for every set puts the virtual ePassport
# on the reader and runs pcsc_bench against it.
#
#   cargo build --release -p mrtd --features pcsc --example pcsc_bench
#   cargo build --release -p virtual-epassport --bin virtual-epassport
#   sh crates/mrtd/examples/pcsc-bench-every-set.sh FACE.jpg [RUNS]
#
# FACE.jpg: the DG2 photo (the README's figures use a 320x400 JPEG of ~20 KB).
set -eu
face=${1:?usage: $0 FACE.jpg [RUNS]}
runs=${2:-20}
target=${CARGO_TARGET_DIR:-$(dirname "$0")/../../../target}
bench="$target/release/examples/pcsc_bench"
chip="$target/release/virtual-epassport"
driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
dir=$(mktemp -d)
mkdir -p "$dir/run" "$dir/conf" /run/pcscd
port=35983
printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x%04X\nLIBPATH      %s\nCHANNELID    0x%04X\n' \
    "$port" "$driver" "$port" >"$dir/conf/vpcd"
unshare -m sh -c "mount --bind '$dir/run' /run/pcscd && exec pcscd --foreground -c '$dir/conf'" \
    >"$dir/pcscd.log" 2>&1 &
pcscd_pid=$!
chip_pid=
cleanup() {
    if [ -n "$chip_pid" ]; then kill "$chip_pid" 2>/dev/null || true; fi
    kill "$pcscd_pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM
export PCSCLITE_CSOCK_NAME="$dir/run/pcscd.comm"
for _ in $(seq 50); do [ -S "$PCSCLITE_CSOCK_NAME" ] && break; sleep 0.1; done
sleep 0.5

echo "| access | APDUs | min / median |"
echo "|---|---|---|"
for set in "none" \
    "modp1024" "modp1024 --pace-im" "modp2048s224" "modp2048s224 --pace-im" \
    "modp2048s256" "modp2048s256 --pace-im" \
    "secp192" "secp192 --pace-im" "brainpool192" "brainpool192 --pace-im" "brainpool192 --pace-cam" \
    "secp224" "secp224 --pace-cam" \
    "brainpool224" "brainpool224 --pace-im" "brainpool224 --pace-cam" \
    "secp256" "secp256 --pace-im" "secp256 --pace-cam" \
    "brainpool256" "brainpool256 --pace-im" "brainpool256 --pace-cam" \
    "brainpool320" "brainpool320 --pace-im" "brainpool320 --pace-cam" \
    "secp384" "secp384 --pace-im" "secp384 --pace-cam" \
    "brainpool384" "brainpool384 --pace-im" "brainpool384 --pace-cam" \
    "brainpool512" "brainpool512 --pace-im" "brainpool512 --pace-cam" \
    "secp521" "secp521 --pace-im" "secp521 --pace-cam"; do
    # shellcheck disable=SC2086 # $set holds the set and its mapping flag
    "$chip" --vpcd "127.0.0.1:$port" --face "$face" --can 123456 --pace $set >"$dir/chip.log" 2>&1 &
    chip_pid=$!
    sleep 1.5
    if [ "$set" = none ]; then extra=""; else extra="--can 123456"; fi
    # shellcheck disable=SC2086
    line=$("$bench" --reader "Virtual PCD 00 00" --runs "$runs" $extra 2>&1 | tail -1)
    echo "| $set | $line |"
    kill "$chip_pid"
    wait "$chip_pid" 2>/dev/null || true
    chip_pid=
    sleep 1.5
done
