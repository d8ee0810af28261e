#!/usr/bin/env bash
# Runs the cargo-fuzz targets one after the other, each for a given time, and prints how many
# inputs each one executed and whether it crashed.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS   per target (default 300)
#   TARGET    reader, check, scrub, segments (default: all four)
# Settings (environment):
#   FUZZ_MAX_LEN=16384    longest input libFuzzer makes
#   FUZZ_SANITIZER=address  cargo fuzz's --sanitizer (address, none, ...)
#   FUZZ_TIMEOUT=20       seconds one input may take before it counts as a hang
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); CI does not. Runs on the stable toolchain
# through RUSTC_BOOTSTRAP=1 (cargo fuzz needs nightly flags). One target at a time, one
# process each (no -jobs): the machine has two cores. Corpora grow in fuzz/corpus/TARGET;
# check and scrub also read the repository's X12 files as seeds (never written to). A crash
# leaves its input in fuzz/artifacts/TARGET/ and the log in fuzz/logs/ (both git-ignored).
set -uo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-300}
shift || true
targets=${*:-reader check scrub segments}
max_len=${FUZZ_MAX_LEN:-16384}
sanitizer=${FUZZ_SANITIZER:-address}
timeout=${FUZZ_TIMEOUT:-20}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is needed: cargo install cargo-fuzz" >&2
  exit 2
fi

# Whole X12 files the repository holds: seeds for the whole-file targets.
seeds=()
for dir in ../samples ../tests/public ../tests/outside ../tests/bad; do
  [ -d "$dir" ] && seeds+=("$dir")
done

mkdir -p logs
status=0
summary=""
for target in $targets; do
  corpus=(corpus/"$target")
  mkdir -p "${corpus[0]}"
  case $target in
    check | scrub) corpus+=("${seeds[@]}") ;;
  esac
  log="logs/$target.log"
  echo "== $target: ${seconds}s (log: fuzz/$log)" >&2
  cargo fuzz run --sanitizer "$sanitizer" "$target" "${corpus[@]}" -- \
    -max_total_time="$seconds" -max_len="$max_len" -timeout="$timeout" \
    -print_final_stats=1 >"$log" 2>&1
  code=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
  [ -n "$runs" ] || runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n 1 | grep -o '[0-9]*')
  corpus_files=$(find "corpus/$target" -type f | wc -l)
  if [ "$code" -eq 0 ]; then
    line="$target: ${runs:-?} inputs executed in ${seconds}s, no crash (corpus: $corpus_files files)"
  else
    line="$target: CRASHED (exit $code) after ${runs:-?} inputs; see fuzz/$log and fuzz/artifacts/$target/"
    status=1
  fi
  echo "$line" >&2
  summary+="$line"$'\n'
done
echo
echo "$summary"
exit $status
