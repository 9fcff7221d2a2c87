#!/usr/bin/env bash
# `trust encrypt`/`trust decrypt` of a large file beside rage (X25519 recipient), same file,
# same run, in tmpfs (/dev/shm) so the disk does not decide. Reports wall time, throughput and
# maximum resident set size (/usr/bin/time -v) of each run; the best of REPEAT runs per row.
#
#   cargo build --release -p trust-cli && cargo install rage   # once
#   benches/cli-vs-rage.sh                  # 1 GiB, 3 repeats
#   SIZE_MIB=256 REPEAT=1 benches/cli-vs-rage.sh
#
# Results and the machine they came from: docs/PERFORMANCE.md, "Keyring and rewrap".
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-1024}
REPEAT=${REPEAT:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRUST=${TRUST:-$ROOT/target/release/trust}
RAGE=${RAGE:-$(command -v rage || echo "$HOME/.cargo/bin/rage")}
RAGE_KEYGEN=${RAGE_KEYGEN:-$(command -v rage-keygen || echo "$HOME/.cargo/bin/rage-keygen")}

for bin in "$TRUST" "$RAGE" "$RAGE_KEYGEN" /usr/bin/time; do
    [ -x "$bin" ] || { echo "missing $bin (see the header of this script)" >&2; exit 2; }
done

DIR=$(mktemp -d /dev/shm/trust-vs-rage.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
export TRUST_HOME=$DIR/home

head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$DIR/plain"
"$TRUST" init --root-key-file "$DIR/root.key" > /dev/null
"$TRUST" keys create bench > /dev/null
"$RAGE_KEYGEN" -o "$DIR/identity.txt" 2> /dev/null
RECIPIENT=$(grep -o 'age1[0-9a-z]*' "$DIR/identity.txt" | head -n1)

# measure LABEL CMD... : runs CMD REPEAT times, prints "LABEL seconds MiB/s maxRSS-MiB" (best).
measure() {
    local label=$1; shift
    local best_s="" best_rss=""
    for _ in $(seq "$REPEAT"); do
        /usr/bin/time -v -o "$DIR/time.txt" "$@" > /dev/null
        local wall rss secs
        wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$DIR/time.txt")
        rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/time.txt")
        secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }')
        if [ -z "$best_s" ] || awk "BEGIN { exit !($secs < $best_s) }"; then best_s=$secs; fi
        if [ -z "$best_rss" ] || [ "$rss" -gt "$best_rss" ]; then best_rss=$rss; fi
    done
    awk -v l="$label" -v s="$best_s" -v r="$best_rss" -v m="$SIZE_MIB" \
        'BEGIN { printf "%-16s %8.2f s %9.1f MiB/s %8.1f MiB max RSS\n", l, s, m / s, r / 1024 }'
}

echo "file: $SIZE_MIB MiB of random bytes in $DIR (tmpfs); best of $REPEAT; $(nproc) CPUs"
echo "trust: $("$TRUST" --version)   rage: $("$RAGE" --version 2>&1 | head -n1)"
measure "trust encrypt" "$TRUST" encrypt --key bench -i "$DIR/plain" -o "$DIR/plain.tle"
measure "rage encrypt" "$RAGE" -r "$RECIPIENT" -o "$DIR/plain.age" "$DIR/plain"
measure "trust decrypt" "$TRUST" decrypt -i "$DIR/plain.tle" -o "$DIR/out.trust"
measure "rage decrypt" "$RAGE" -d -i "$DIR/identity.txt" -o "$DIR/out.age" "$DIR/plain.age"
cmp "$DIR/plain" "$DIR/out.trust"
cmp "$DIR/plain" "$DIR/out.age"
echo "round trips verified (cmp)"
