#!/usr/bin/env bash
# CLI-level verify benchmark of the audit log (docs/PERFORMANCE.md, "Audit log").
#
# Builds a log of N entries (default 1 000 000) with `trust audit import`, then in the same run:
#   * `openssl dgst -sha256` over the same segment bytes (the baseline: SHA-NI, one core),
#   * `trust audit verify` under /usr/bin/time -v (wall time and max RSS).
# Usage: benches/scripts/audit_verify.sh [N] [TRUST_BINARY]
set -euo pipefail
N=${1:-1000000}
BIN=${2:-target/release/trust}
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
BYTES=$(cat "$WORK"/log/segments/* | wc -c)
echo "entries: $N  segment bytes: $BYTES"
sync
# Warm the page cache for both readers alike.
cat "$WORK"/log/segments/* > /dev/null
for i in 1 2 3; do
  S=$(date +%s.%N); openssl dgst -sha256 "$WORK"/log/segments/* > /dev/null; E=$(date +%s.%N)
  echo "openssl dgst -sha256: $(echo "$E - $S" | bc) s"
  S=$(date +%s.%N); "$BIN" audit verify --log "$WORK/log" --vkey "$WORK/log/vkey" --skip-payloads > /dev/null; E=$(date +%s.%N)
  echo "trust audit verify:   $(echo "$E - $S" | bc) s"
done
/usr/bin/time -v "$BIN" audit verify --log "$WORK/log" --vkey "$WORK/log/vkey" 2>&1 >/dev/null \
  | grep -E "Maximum resident|Elapsed|Percent of CPU"
