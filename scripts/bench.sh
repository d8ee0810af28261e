#!/usr/bin/env bash
# Throughput and memory of the reader on a generated file, next to a baseline measured in the
# same run. Usage: scripts/bench.sh [CLAIMS]   (default 1,700,000 claims, about 1 GB)
# Generated files go to bench-data/ (git-ignored) and are never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
claims=${1:-1700000}
mkdir -p bench-data
file="bench-data/generated-${claims}.837"
cargo build --release --quiet --example read_only
cargo build --release --quiet
[ -f "$file" ] || ./target/release/scrub837 generate --claims "$claims" --out "$file"
./target/release/examples/read_only "$file"
echo "parse (JSON for every claim to /dev/null):"
/usr/bin/time -f "  %e s wall, peak RSS %M KB" ./target/release/scrub837 parse "$file" >/dev/null 2>bench-data/parse.stderr || true
tail -n 1 bench-data/parse.stderr
echo "scrub (every output written to bench-data/scrub-out):"
rm -rf bench-data/scrub-out
/usr/bin/time -f "  %e s wall, peak RSS %M KB" ./target/release/scrub837 scrub "$file" --out bench-data/scrub-out 2>bench-data/scrub.stderr || true
grep -o "[0-9.]* MB in .*" bench-data/scrub.stderr || cat bench-data/scrub.stderr
tail -n 1 bench-data/scrub.stderr
echo "criterion: cargo bench --bench reader; cargo bench --bench scrub"
