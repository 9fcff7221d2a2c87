#!/usr/bin/env bash
# Audit appends on PostgreSQL beside pgbench's single-row INSERT transactions, same server, same
# run, interleaved so that both see the same machine load (docs/PERFORMANCE.md, "Audit log on
# PostgreSQL"). The criterion bench benches/benches/audit_pg.rs measures the same two cases.
#
#   source .ci/servers            # or: export TRUST_BENCH_POSTGRES_URL=postgres://…
#   benches/scripts/audit_pg.sh [SECONDS]
#
# pgbench: 8 clients (-c 8 -j 2), each transaction one INSERT of a 200-byte row into a table
# with a bigint primary key (an audit leaf row's shape), synchronous_commit as the server has it.
# It runs before and after every trust run; each trust figure is compared with the mean of the
# two pgbench runs around it. The trust runs:
#   shared 8 1      8 threads sharing one handle (one process: group commit), 1 entry per call
#   handles 8 1     8 handles, each with its own connection (as 8 processes or hosts), 1 entry
#   shared 1 1      one writer, 1 entry per call (beside pgbench -c 1)
#   shared 1 1000   one writer, 1000 entries per call
#   handles 4 1000  4 handles, 1000 entries per call
set -euo pipefail
secs="${1:-15}"
url="${TRUST_BENCH_POSTGRES_URL:-${TRUST_TEST_POSTGRES_URL:?source .ci/servers or set TRUST_BENCH_POSTGRES_URL}}"
export TRUST_BENCH_POSTGRES_URL="$url"
cd "$(dirname "$0")/../.."

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs"
echo "server: $(psql "$url" -Atc 'select version()' | cut -d' ' -f1-2); synchronous_commit=$(psql "$url" -Atc 'show synchronous_commit'); fsync=$(psql "$url" -Atc 'show fsync'); commit_delay=$(psql "$url" -Atc 'show commit_delay')"

cargo build -q --release -p trust-postgres --example audit_load
load="${CARGO_TARGET_DIR:-target}/release/examples/audit_load"

schema="bench_pgbench_$$"
psql "$url" -qc "CREATE SCHEMA $schema; CREATE TABLE $schema.leaves (idx bigserial PRIMARY KEY, hash bytea NOT NULL, leaf bytea NOT NULL)"
sql=$(mktemp)
trap 'rm -f "$sql"; psql "$url" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null' EXIT
echo "INSERT INTO $schema.leaves (hash, leaf) VALUES (sha256('x'::bytea), convert_to(repeat('x', 168), 'UTF8'));" > "$sql"

loadavg() { cut -d' ' -f1 /proc/loadavg; }
pgb() { # CLIENTS → tps
  pgbench -n -c "$1" -j "$(( $1 < 2 ? 1 : 2 ))" -T "$secs" -f "$sql" "$url" 2>&1 \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
compare() { # CLIENTS MODE WRITERS BATCH
  local before after line rate
  before=$(pgb "$1")
  echo "load $(loadavg)  pgbench -c $1: $before tps"
  line=$("$load" "$2" "$3" "$4" "$secs")
  echo "load $(loadavg)  $line"
  after=$(pgb "$1")
  echo "load $(loadavg)  pgbench -c $1: $after tps"
  rate=$(sed -n 's/.*entries_per_s=\([0-9]*\).*/\1/p' <<<"$line")
  awk -v r="$rate" -v a="$before" -v b="$after" -v m="$2 $3 $4" \
    'BEGIN { printf "=> %s: %d entries/s = %.0f %% of pgbench (mean %.0f tps)\n", m, r, 100 * r / ((a + b) / 2), (a + b) / 2 }'
}

compare 8 shared 8 1
compare 8 handles 8 1
compare 1 shared 1 1
echo "== batched (1000 entries per call; the raw engine: one transaction inserting 1000 such rows)"
sql1000=$(mktemp)
trap 'rm -f "$sql" "$sql1000"; psql "$url" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null' EXIT
echo "INSERT INTO $schema.leaves (hash, leaf) SELECT sha256(i::text::bytea), convert_to(repeat('x', 168), 'UTF8') FROM generate_series(1, 1000) i;" > "$sql1000"
pgb1000() { # CLIENTS → rows/s
  pgbench -n -c "$1" -j "$1" -T "$secs" -f "$sql1000" "$url" 2>&1 \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | awk '{ printf "%.0f", $1 * 1000 }'
}
echo "load $(loadavg)  pgbench -c 1, 1000 rows per transaction: $(pgb1000 1) rows/s"
echo "load $(loadavg)  $("$load" shared 1 1000 "$secs")"
echo "load $(loadavg)  pgbench -c 4, 1000 rows per transaction: $(pgb1000 4) rows/s"
echo "load $(loadavg)  $("$load" handles 4 1000 "$secs")"
echo "load $(loadavg)  pgbench -c 1, 1000 rows per transaction: $(pgb1000 1) rows/s"
