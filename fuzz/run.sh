#!/usr/bin/env bash
# Runs the hl7_parse fuzz target for a number of executions (default 10,000,000).
#
#   fuzz/run.sh [RUNS] [extra libFuzzer flags...]
#
# Builds with debug assertions (integer overflow panics) and, by default, without a sanitizer:
# the parser is safe Rust, and ASan costs ~4x in executions per second. Set
# FUZZ_SANITIZER=address to use one anyway.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). The seed
# corpus is built at run time from ../shared/data/hl7-samples (not kept in git: licences
# vary); fuzz/corpus and fuzz/artifacts are git-ignored. A crash leaves its input in
# fuzz/artifacts/hl7_parse/ and makes this script exit non-zero.
set -euo pipefail

runs="${1:-10000000}"
shift || true
fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
samples="$fuzz_dir/../../shared/data/hl7-samples"
corpus="$fuzz_dir/corpus/hl7_parse"

mkdir -p "$corpus"
if [ -d "$samples" ]; then
    while IFS= read -r -d '' f; do
        cp "$f" "$corpus/seed-$(sha1sum "$f" | cut -c1-16)"
    done < <(find "$samples" -type f ! -name 'SOURCES.*' ! -name '.gitattributes' -print0)
else
    echo "note: $samples not found; fuzzing from the existing corpus only" >&2
fi

cd "$fuzz_dir/.."
exec cargo +nightly fuzz run --fuzz-dir "$fuzz_dir" --sanitizer "${FUZZ_SANITIZER:-none}" \
    --debug-assertions hl7_parse "$corpus" -- \
    -runs="$runs" -dict="$fuzz_dir/hl7.dict" -max_len=2048 -print_final_stats=1 "$@"
