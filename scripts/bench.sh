#!/usr/bin/env bash
# Throughput, CPU and memory of scrub837 on generated files, side by side with a baseline
# measured in the same run (a memchr scan of the segment terminators), written to
# BENCHMARKS.md. Every figure is the median of several runs; compare ratios, not absolute
# numbers, when the machine is busy.
#
# Usage: scripts/bench.sh
# Settings (environment):
#   BENCH_RUNS=3        runs per measurement (the median is reported)
#   BENCH_RUNS_1GB=$BENCH_RUNS  runs per measurement on the 1 GB file
#   BENCH_QUICK=1       skip the 1 GB file (10 MB and 100 MB only)
#   BENCH_SIZES="..."   sizes to run, from: 10MB 100MB 1GB (overrides BENCH_QUICK)
#   BENCH_PYX12=0       skip pyx12 (x12valid) on the 10 MB file
#   BENCH_PYX12_RUNS=1  runs of pyx12 (slow: minutes per run)
#   BENCH_ALLOC_CLAIMS=10000  claims in the file the allocation counter reads
#   BENCH_NOTE="..."    a line about the conditions, printed in BENCHMARKS.md
#   BENCH_OUT=BENCHMARKS.md   where to write the results
#   BENCH_BIN=PATH      measure another build of scrub837 (a profile-guided one, an older
#                       commit's) in place of target/release/scrub837
#   BENCH_REPORT_ONLY=1 measure nothing: write BENCHMARKS.md again from the last run's
#                       figures (bench-data/), e.g. after changing this script's table
#   PYX12_VENV          a virtual environment with pyx12 4.0.0 (default target/pyx12-venv,
#                       made on first use like the tests do)
# Generated files and outputs go to bench-data/ (git-ignored) and are never committed; the
# generated inputs are kept between runs, the outputs are deleted after each measurement.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-3}
if [ -n "${BENCH_SIZES:-}" ]; then
  sizes=$BENCH_SIZES
elif [ "${BENCH_QUICK:-0}" = 1 ]; then
  sizes="10MB 100MB"
else
  sizes="10MB 100MB 1GB"
fi
out_md=${BENCH_OUT:-BENCHMARKS.md}
data=bench-data
mkdir -p "$data"

# Claims per size: the generator writes about 587 bytes per claim.
claims_for() {
  case $1 in
    10MB) echo 17000 ;;
    100MB) echo 170000 ;;
    1GB) echo 1700000 ;;
    *) echo "unknown size $1 (10MB, 100MB or 1GB)" >&2; exit 2 ;;
  esac
}

if [ ! -x /usr/bin/time ]; then
  echo "/usr/bin/time (GNU time) is needed for CPU and peak RSS" >&2
  exit 2
fi

echo "== build (release)" >&2
cargo build --release --quiet --bin scrub837 --example memchr_scan --example read_only
alloc_example=""
if [ -f examples/alloc_count.rs ]; then
  cargo build --release --quiet --example alloc_count
  alloc_example=target/release/examples/alloc_count
fi
bin=${BENCH_BIN:-target/release/scrub837}
if [ ! -x "$bin" ]; then
  echo "bench: no scrub837 binary at $bin" >&2
  exit 1
fi

# --- measuring -------------------------------------------------------------------------------

# median < numbers (one per line)
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan" } else if (NR % 2) { print v[(NR + 1) / 2] } else { print (v[NR / 2] + v[NR / 2 + 1]) / 2 } }'
}

# Results, one line per measurement:
#   size command threads wall_s cpu_s rss_kb output_bytes
results="$data/results.txt"
# Output files of the last scrub per size and thread count: size threads name bytes
outputs="$data/outputs.txt"
if [ "${BENCH_REPORT_ONLY:-0}" != 1 ]; then
  : >"$results"
  : >"$outputs"
fi

# Microseconds since the epoch (bash 5's EPOCHREALTIME: /usr/bin/time's wall clock has only
# 10 ms steps, too coarse for the memchr scan of the small file).
now_us() {
  local t=${EPOCHREALTIME/[.,]/}
  echo "${t:-$(date +%s%6N)}"
}

# measure SIZE COMMAND THREADS STDOUT -- CMD...
# Runs CMD $runs times under /usr/bin/time with RAYON_NUM_THREADS=THREADS; exit codes 0 and 1
# (findings) count as success. Keeps the medians of wall time, CPU time (user + sys) and peak
# RSS. STDOUT is "count" (standard output goes through `wc -c`, never to disk, and its size
# is the output size) or "discard"; for scrub the output size is the sum of the files in its
# output directory.
measure() {
  local size=$1 command=$2 threads=$3 stdout=$4
  shift 5
  local walls=() cpus=() rsses=() out_bytes=0 i code start end
  for ((i = 1; i <= runs; i++)); do
    rm -rf "$data/scrub-out"
    set +e
    start=$(now_us)
    if [ "$stdout" = count ]; then
      RAYON_NUM_THREADS=$threads /usr/bin/time -f "%e %U %S %M" -o "$data/time.txt" \
        "$@" 2>"$data/stderr.txt" | wc -c >"$data/stdout-bytes.txt"
      code=${PIPESTATUS[0]}
    else
      RAYON_NUM_THREADS=$threads /usr/bin/time -f "%e %U %S %M" -o "$data/time.txt" \
        "$@" >/dev/null 2>"$data/stderr.txt"
      code=$?
    fi
    end=$(now_us)
    set -e
    if [ "$code" -gt 1 ]; then
      echo "$command ($size, $threads threads) failed with exit $code:" >&2
      tail -n 5 "$data/stderr.txt" >&2
      exit 2
    fi
    # GNU time prints "Command exited with non-zero status 1" before the figures.
    read -r _ user sys rss < <(tail -n 1 "$data/time.txt")
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", (b - a) / 1e6 }')
    walls+=("$wall")
    cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')")
    rsses+=("$rss")
    echo "  $command $size threads=$threads run $i: ${wall}s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')s CPU, ${rss} KB peak RSS" >&2
  done
  if [ "$command" = scrub ]; then
    out_bytes=0
    for f in "$data"/scrub-out/*; do
      [ -f "$f" ] || continue
      local b
      b=$(stat -c %s "$f")
      out_bytes=$((out_bytes + b))
      echo "$size $threads $(basename "$f") $b" >>"$outputs"
    done
    rm -rf "$data/scrub-out"
  elif [ "$stdout" = count ]; then
    out_bytes=$(tr -d ' ' <"$data/stdout-bytes.txt")
  fi
  echo "$size $command $threads $(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median) $(printf '%s\n' "${rsses[@]}" | median) $out_bytes" >>"$results"
}

if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
  # shellcheck source=/dev/null
  source "$data/facts.sh"
else

# --- machine facts ---------------------------------------------------------------------------

cores=$(nproc)
cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
mem_total=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)
kernel=$(uname -sr)
rustc_version=$(rustc --version)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

# --- the runs --------------------------------------------------------------------------------

base_runs=$runs
for size in $sizes; do
  runs=$base_runs
  [ "$size" != 1GB ] || runs=${BENCH_RUNS_1GB:-$base_runs}
  claims=$(claims_for "$size")
  file="$data/generated-$claims.837"
  if [ ! -f "$file" ]; then
    echo "== generate $size ($claims claims)" >&2
    "$bin" generate --claims "$claims" --out "$file"
  fi
  echo "$size $claims $(stat -c %s "$file")" >>"$data/sizes.txt.new"
  echo "== $size: $file" >&2
  # Read the file once so every command starts with it in the page cache.
  cat "$file" >/dev/null
  measure "$size" memchr 1 discard -- target/release/examples/memchr_scan "$file"
  measure "$size" read 1 discard -- target/release/examples/read_only "$file"
  for threads in 1 2; do
    measure "$size" parse "$threads" count -- "$bin" parse "$file"
    measure "$size" check "$threads" count -- "$bin" check "$file"
    measure "$size" scrub "$threads" discard -- "$bin" scrub "$file" --out "$data/scrub-out" \
      --first-control 1 --ack-time 202601010000
  done
done
runs=$base_runs
mv "$data/sizes.txt.new" "$data/sizes.txt"

# pyx12 4.0.0 (x12valid) on the 10 MB file, the external oracle's speed for comparison.
pyx12_line=""
if [ "${BENCH_PYX12:-1}" = 1 ]; then
  venv=${PYX12_VENV:-$PWD/target/pyx12-venv}
  if [ ! -x "$venv/bin/x12valid" ]; then
    echo "== pyx12: making $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check pyx12==4.0.0
  fi
  claims=$(claims_for 10MB)
  file="$data/generated-$claims.837"
  [ -f "$file" ] || "$bin" generate --claims "$claims" --out "$file"
  echo "== pyx12 x12valid on $file" >&2
  saved_runs=$runs
  runs=${BENCH_PYX12_RUNS:-1}
  # x12valid writes its 997/999 next to the input; run it on a copy in its own folder.
  mkdir -p "$data/pyx12"
  cp "$file" "$data/pyx12/input.837"
  measure 10MB pyx12 1 discard -- "$venv/bin/x12valid" --quiet "$data/pyx12/input.837"
  rm -rf "$data/pyx12"
  runs=$saved_runs
  pyx12_line=yes
fi

# Allocations per claim: examples/alloc_count.rs (a counting global allocator) when the
# crate has it. HOOK: until then this section says it is missing.
alloc_text=""
if [ -n "$alloc_example" ]; then
  claims=${BENCH_ALLOC_CLAIMS:-10000}
  file="$data/generated-$claims.837"
  [ -f "$file" ] || "$bin" generate --claims "$claims" --out "$file"
  echo "== allocations: $alloc_example $file" >&2
  alloc_text=$("$alloc_example" "$file" 2>&1 || echo "(alloc_count failed with exit $?)")
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)
declare -p cores cpu_model mem_total load_before load_after kernel rustc_version commit dirty \
  started pyx12_line alloc_text runs | sed 's/^declare -- /declare -g /' >"$data/facts.sh"
fi

# --- BENCHMARKS.md ---------------------------------------------------------------------------

{
  echo "# Benchmarks"
  echo
  echo "Written by \`scripts/bench.sh\` (medians of $runs runs$([ "${BENCH_RUNS_1GB:-$runs}" = "$runs" ] || echo ", ${BENCH_RUNS_1GB} on the 1 GB file"); rerun it to refresh this file)."
  echo
  echo "- date: $started"
  echo "- commit: $commit$dirty"
  echo "- machine: $cores cores ($cpu_model), $mem_total RAM, $kernel"
  echo "- toolchain: $rustc_version, release profile$([ "$bin" = target/release/scrub837 ] || echo " (binary: \`$bin\`)")"
  echo "- load average before / after: $load_before / $load_after"
  if [ -n "${BENCH_NOTE:-}" ]; then
    echo "- conditions: $BENCH_NOTE"
  fi
  echo
  echo "Inputs are made by \`scrub837 generate --claims N\` and read from the page cache."
  echo "Columns: MB/s and claims/s from wall time; MB per CPU second and CPU µs per claim from"
  echo "user + sys time (these depend least on what else the machine runs);"
  echo "peak RSS from /usr/bin/time; output is what the command writes (parse and check:"
  echo "standard output; scrub: every file in its output directory); the last column is this"
  echo "command's wall time over the memchr scan's on the same file (how many times slower"
  echo "than the least any reader can do). \`read\` is examples/read_only: a memchr scan then"
  echo "the claim reader (framing, envelopes, grammar, claim build) in one process."
  while read -r size claims bytes; do
    echo
    echo "## $size: $claims claims, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB"
    echo
    echo "| command | threads | wall s | MB/s | claims/s | MB/CPU-s | CPU µs/claim | peak RSS MB | output MB | × memchr time |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    base=$(awk -v s="$size" '$1 == s && $2 == "memchr" { print $4 }' "$results")
    awk -v s="$size" -v claims="$claims" -v bytes="$bytes" -v base="$base" '
      $1 == s {
        wall = $4; cpu = $5; rss = $6; out = $7
        w = (wall > 0) ? wall : 0.005
        c = (cpu > 0) ? cpu : 0.005
        printf "| %s | %s | %.3f | %.1f | %.0f | %.0f | %.2f | %.1f | %s | %.1f |\n",
          $2, $3, wall, bytes / 1e6 / w, claims / w, bytes / 1e6 / c, cpu * 1e6 / claims, rss / 1024,
          (out > 0) ? sprintf("%.1f", out / 1e6) : "-", w / ((base > 0) ? base : 0.005)
      }' "$results"
    echo
    for command in parse check scrub; do
      awk -v s="$size" -v c="$command" '
        $1 == s && $2 == c && $3 == 1 { one = $4 }
        $1 == s && $2 == c && $3 == 2 { two = $4 }
        END { if (one > 0 && two > 0) printf "- %s: 2 threads are %.2f× the 1-thread speed\n", c, one / two }' "$results"
    done
    if grep -q "^$size 2 " "$outputs"; then
      echo
      echo "scrub outputs (2 threads):"
      echo
      awk -v s="$size" -v bytes="$bytes" '$1 == s && $2 == 2 {
        printf "- %s: %.1f MB (%.2f× the input)\n", $3, $4 / 1e6, $4 / bytes }' "$outputs"
    fi
  done <"$data/sizes.txt"
  # Issue 9's targets, on the largest file measured.
  read -r size claims bytes < <(tail -n 1 "$data/sizes.txt")
  echo
  echo "## Against the issue 9 targets ($size file)"
  echo
  awk -v s="$size" -v claims="$claims" -v bytes="$bytes" '
    $1 == s && $2 == "memchr" { base = $4 }
    $1 == s && $2 == "scrub" && $3 == 1 { one = $4 }
    $1 == s && $2 == "scrub" && $3 == 2 { two = $4; cpu = $5; rss = $6 }
    $1 == s && $2 == "check" && $3 == 2 { check = $4 }
    END {
      if (two > 0) {
        printf "- scrub, 2 threads: %.1f MB/s (target ≥ 250), %.1f%% of the memchr scan'"'"'s speed\n", bytes / 1e6 / two, 100 * base / two
        printf "- scrub, 2 threads vs 1: %.2f× (target ≥ 1.7×; wall time, so only meaningful on an idle machine)\n", one / two
        printf "- scrub CPU per claim: %.1f µs (target ≤ 4)\n", cpu * 1e6 / claims
        printf "- scrub peak RSS: %.1f MB (target ≤ 100 MB, flat from 100 MB to 1 GB)\n", rss / 1024
        printf "- check, 2 threads: %.1f MB/s (target: at least as fast as scrub)\n", bytes / 1e6 / check
      }
    }' "$results"
  awk -v s="$size" -v bytes="$bytes" '$1 == s && $2 == 2 && $3 ~ /\.report\./ {
    printf "- report: %s is %.2f× the input (target ≤ 0.5×)\n", $3, $4 / bytes }' "$outputs"
  if [ -n "$pyx12_line" ]; then
    echo
    echo "## pyx12 4.0.0 (x12valid) on the 10 MB file"
    echo
    awk -v claims="$(claims_for 10MB)" '$2 == "pyx12" {
      printf "%.1f s wall, %.0f claims/s, %.0f µs CPU per claim, peak RSS %.1f MB", $4, claims / $4, $5 * 1e6 / claims, $6 / 1024 }' "$results"
    scrub2=$(awk '$1 == "10MB" && $2 == "scrub" && $3 == 2 { print $4 }' "$results")
    awk -v p="$(awk '$2 == "pyx12" { print $4 }' "$results")" -v s="$scrub2" \
      'BEGIN { if (s > 0) printf "; scrub with 2 threads is %.0f× faster\n", p / s; else print "" }'
  fi
  echo
  echo "## Heap allocations"
  echo
  if [ -n "$alloc_text" ]; then
    echo "examples/alloc_count on ${BENCH_ALLOC_CLAIMS:-10000} generated claims:"
    echo
    echo '```'
    echo "$alloc_text"
    echo '```'
  else
    echo "Not measured: examples/alloc_count.rs (a counting allocator: allocations per claim for"
    echo "read, check and scrub) is not in this commit. scripts/bench.sh runs it when it is."
  fi
} >"$out_md"
echo "== wrote $out_md" >&2
