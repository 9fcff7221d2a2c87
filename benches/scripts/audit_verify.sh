#!/usr/bin/env bash
# CLI-level verify benchmark of the audit log (docs/PERFORMANCE.md, "Audit log").
#
#   cargo build --release -p trust-cli --no-default-features
#   benches/scripts/audit_verify.sh [N] [RUNS] [TRUST_BINARY]
#
# Builds a log of N entries (default 1 000 000) with `trust audit import`, then RUNS times
# (default 5), interleaved in the same run with the page cache warm:
#   * `openssl dgst -sha256` over the same segment bytes — the records only: the reserved zeros
#     after the data of the open (preallocated) segment are left out, so openssl hashes exactly
#     the bytes the verifier checks (SHA-NI, one core);
#   * `trust audit verify` (all cores),
# each under /usr/bin/time: wall time, CPU time (user+sys, all threads) and peak RSS. Prints every
# run, the best wall time of each and their ratio, the CPU model and the load average, because
# on a shared machine wall time also measures the other tenants.
set -euo pipefail
N=${1:-1000000}
RUNS=${2:-5}
BIN=${3:-target/release/trust}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - "$N" > "$WORK/in.jsonl" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    out.write('{"event":"connector.sync","time_ms":%d,"actor":"worker-%d","attrs":{"job":"orders","n":"%d"}}\n' % (1700000000000 + i, i % 16, i))
PY
"$BIN" audit init --log "$WORK/log" --origin bench.example.com/audit >/dev/null
"$BIN" audit import --log "$WORK/log" --batch 4096 "$WORK/in.jsonl" >/dev/null
"$BIN" audit checkpoint --log "$WORK/log" >/dev/null
rm "$WORK/in.jsonl"
# The records of every segment: closed segments are exactly their records; the open one is cut
# at its last non-zero byte (the data ends with a hash; should its last byte be zero, openssl
# hashes one byte less, which favours openssl).
mkdir "$WORK/data"
for seg in "$WORK"/log/segments/*; do
  end=$(python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); print(len(b.rstrip(b"\0")))' "$seg")
  head -c "$end" "$seg" > "$WORK/data/$(basename "$seg")"
done
BYTES=$(cat "$WORK"/data/* | wc -c)
FILE_BYTES=$(cat "$WORK"/log/segments/* | wc -c)
echo "entries: $N  segment data bytes: $BYTES  (files: $FILE_BYTES with the reservation)"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')  cores: $(nproc)"
sync
cat "$WORK"/data/* "$WORK"/log/segments/* > /dev/null
fmt="%e %U %S %M"
best_o=999; best_t=999
for i in $(seq "$RUNS"); do
  echo "run $i  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  o=$( { /usr/bin/time -f "$fmt" openssl dgst -sha256 "$WORK"/data/* > /dev/null; } 2>&1 | tail -1)
  t=$( { /usr/bin/time -f "$fmt" "$BIN" audit verify --log "$WORK/log" --vkey "$WORK/log/vkey" > /dev/null; } 2>&1 | tail -1)
  read -r ow ou os om <<< "$o"
  read -r tw tu ts tm <<< "$t"
  printf '  openssl dgst -sha256: wall %5.2f s  cpu %5.2f s  max RSS %6d KB\n' "$ow" "$(echo "$ou + $os" | bc)" "$om"
  printf '  trust audit verify:   wall %5.2f s  cpu %5.2f s  max RSS %6d KB  (%.2fx openssl wall, %.2fx cpu)\n' \
    "$tw" "$(echo "$tu + $ts" | bc)" "$tm" "$(echo "$tw / $ow" | bc -l)" \
    "$(echo "($tu + $ts) / ($ou + $os)" | bc -l)"
  best_o=$(echo "if ($ow < $best_o) $ow else $best_o" | bc)
  best_t=$(echo "if ($tw < $best_t) $tw else $best_t" | bc)
done
printf 'best wall: openssl %.2f s, trust %.2f s, ratio %.2fx\n' "$best_o" "$best_t" \
  "$(echo "$best_t / $best_o" | bc -l)"
