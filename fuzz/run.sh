#!/usr/bin/env bash
# Runs a fuzz target for a number of executions and prints executions, exec/s and crashes.
#
#   fuzz/run.sh [TARGET|all] [RUNS] [extra libFuzzer flags...]
#   fuzz/run.sh RUNS [flags...]          # hl7_parse, as before
#
# TARGET: hl7_parse (HL7 parser), adt_event (parser → ADT event → discharge → features, and
# what `readmit parse` prints), config_load (TOML → Settings → every check-config check).
# `all` runs them one after another. RUNS defaults to 10,000,000 per target.
#
# Builds with debug assertions (integer overflow panics) and, by default, without a sanitizer:
# our code is safe Rust (`#![forbid(unsafe_code)]`), and ASan costs ~4x in executions per
# second. Set FUZZ_SANITIZER=address to use one anyway.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
#
# Seeds: fuzz/seeds/<target>/ (synthetic, in git), plus, at run time, ../shared/data/hl7-samples
# for the HL7 targets (not kept in git: licences vary) and config/default.toml for config_load.
# fuzz/corpus and fuzz/artifacts are git-ignored. A crash leaves its input in
# fuzz/artifacts/<target>/ and makes this script exit non-zero; reproduce it with
#   cargo +nightly fuzz run --fuzz-dir fuzz --sanitizer none <target> fuzz/artifacts/<target>/crash-…
# Each run's libFuzzer output is kept in fuzz/artifacts/<target>/last-run.log.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$fuzz_dir/.." && pwd)"
samples="$root/../shared/data/hl7-samples"
targets=(hl7_parse adt_event config_load)

target=hl7_parse
if [ $# -gt 0 ] && ! [[ "$1" =~ ^[0-9]+$ ]]; then
    target="$1"
    shift
fi
runs="${1:-10000000}"
shift || true

seed_samples() {
    local corpus="$1"
    if [ -d "$samples" ]; then
        while IFS= read -r -d '' f; do
            cp "$f" "$corpus/seed-$(sha1sum "$f" | cut -c1-16)"
        done < <(find "$samples" -type f ! -name 'SOURCES.*' ! -name '.gitattributes' -print0)
    else
        echo "note: $samples not found; seeding from fuzz/seeds and the existing corpus only" >&2
    fi
}

run_one() {
    local t="$1"
    shift
    local dict max_len
    case "$t" in
        hl7_parse) dict=hl7.dict max_len=2048 ;;
        adt_event) dict=adt.dict max_len=4096 ;;
        config_load) dict=config.dict max_len=4096 ;;
        *)
            echo "unknown target '$t' (expected one of: ${targets[*]} or all)" >&2
            return 2
            ;;
    esac
    local corpus="$fuzz_dir/corpus/$t" artifacts="$fuzz_dir/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$fuzz_dir/seeds/$t" ]; then
        cp "$fuzz_dir/seeds/$t"/* "$corpus/"
    fi
    case "$t" in
        hl7_parse | adt_event) seed_samples "$corpus" ;;
        config_load) cp "$root/config/default.toml" "$corpus/seed-default.toml" ;;
    esac

    local log="$artifacts/last-run.log" marker status=0
    marker=$(mktemp)
    echo "=== $t: $runs executions ($(date -u +%H:%M:%S) UTC)"
    (cd "$root" && cargo +nightly fuzz run --fuzz-dir "$fuzz_dir" \
        --sanitizer "${FUZZ_SANITIZER:-none}" --debug-assertions "$t" "$corpus" -- \
        -runs="$runs" -dict="$fuzz_dir/$dict" -max_len="$max_len" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$@") >"$log" 2>&1 || status=$?
    local execs per_sec secs crashes
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    crashes=$(find "$artifacts" -newer "$marker" -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    rm -f "$marker"
    if [ -n "$execs" ] && [ -n "$per_sec" ] && [ "$per_sec" -gt 0 ]; then
        secs=$((execs / per_sec))
    fi
    echo "$t: executions=${execs:-?} exec/s=${per_sec:-?} seconds≈${secs:-?} crashes=$crashes exit=$status"
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        tail -40 "$log" >&2
        return 1
    fi
}

if [ "$target" = all ]; then
    failed=0
    for t in "${targets[@]}"; do
        run_one "$t" "$@" || failed=1
    done
    exit "$failed"
fi
run_one "$target" "$@"
