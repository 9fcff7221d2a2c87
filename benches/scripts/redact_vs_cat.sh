#!/usr/bin/env bash
# `trust redact` (card scan on) of a 100 MiB synthetic log beside `cat` of the same file, same
# run, page cache warm, output to a file in /dev/shm (tmpfs) so the disk is not measured.
#
#   cargo build --release -p trust-cli
#   benches/scripts/redact_vs_cat.sh [SIZE_MIB] [REPEAT]
#
# The log is the digit-heavy kind the gdpr bench uses: timestamps, order ids, amounts on every
# line, one line in 40 with a credential or a card number. Prints the best wall time of
# REPEAT runs of each, interleaved, and the ratio.
set -euo pipefail
size_mib=${1:-100}
repeat=${2:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
trust=${TRUST_BIN:-$root/target/release/trust}
dir=$(mktemp -d /dev/shm/trust-redact.XXXXXX)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir/log" "$size_mib" <<'PY'
import sys
path, mib = sys.argv[1], int(sys.argv[2])
lines = []
for i in range(4000):
    ts = f"2026-11-22T05:{i % 60:02d}:{(i * 7) % 60:02d}.{i % 1000:03d}Z"
    if i % 40 == 7:
        extra = "auth=Bearer sk_live_51HxYzAbCdEf0123456789 retry"
    elif i % 40 == 23:
        extra = "card 4242 4242 4242 4242 declined"
    else:
        extra = f"amount={i * 13 % 100000}.{i % 100:02d} items={i % 17}"
    lines.append(f"{ts} INFO order={1700000000000 + i * 7919} shop=acme-{i % 50}.myshopify.com {extra}\n")
block = "".join(lines).encode()
with open(path, "wb") as f:
    left = mib << 20
    while left > 0:
        f.write(block[:left])
        left -= len(block)
PY
best() { # best wall seconds of one run of "$@" > $dir/out
  local s e
  s=$(date +%s%N); "$@" > "$dir/out"; e=$(date +%s%N)
  echo $(( e - s ))
}
cat "$dir/log" > /dev/null
cat_best=999999999999; red_best=999999999999
for _ in $(seq "$repeat"); do
  t=$(best cat "$dir/log"); (( t < cat_best )) && cat_best=$t
  t=$(best "$trust" redact -i "$dir/log"); (( t < red_best )) && red_best=$t
done
grep -c 'REDACTED:card' "$dir/out" > /dev/null
printf 'log: %d MiB, %s\n' "$size_mib" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
printf 'cat          best of %d: %8.1f ms\n' "$repeat" "$(echo "$cat_best / 1000000" | bc -l)"
printf 'trust redact best of %d: %8.1f ms  (%.2fx cat)\n' "$repeat" \
  "$(echo "$red_best / 1000000" | bc -l)" "$(echo "$red_best / $cat_best" | bc -l)"
