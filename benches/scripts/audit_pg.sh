#!/usr/bin/env bash
# Audit appends on PostgreSQL beside pgbench's single-row INSERT transactions, same server, same
# run (docs/PERFORMANCE.md, "Audit log on PostgreSQL").
#
#   source .ci/servers            # or: export TRUST_BENCH_POSTGRES_URL=postgres://…
#   benches/scripts/audit_pg.sh [SECONDS]
#
# 1. pgbench: 8 clients, each transaction one INSERT of a 200-byte row into a table with a
#    bigint primary key (an audit leaf row's shape), synchronous_commit as the server has it;
# 2. trust, 8 writers, one entry per call: threads sharing one handle (one process, group
#    commit), then 8 handles (as 8 processes or hosts);
# 3. trust, batched: 1 and 4 writers appending 1000 entries per call.
set -euo pipefail
secs="${1:-20}"
url="${TRUST_BENCH_POSTGRES_URL:-${TRUST_TEST_POSTGRES_URL:?source .ci/servers or set TRUST_BENCH_POSTGRES_URL}}"
export TRUST_BENCH_POSTGRES_URL="$url"
cd "$(dirname "$0")/../.."

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server: $(psql "$url" -Atc 'select version()' | cut -d' ' -f1-2); synchronous_commit=$(psql "$url" -Atc 'show synchronous_commit'); fsync=$(psql "$url" -Atc 'show fsync')"

cargo build -q --release -p trust-postgres --example audit_load
load="${CARGO_TARGET_DIR:-target}/release/examples/audit_load"

schema="bench_pgbench_$$"
psql "$url" -qc "CREATE SCHEMA $schema; CREATE TABLE $schema.leaves (idx bigserial PRIMARY KEY, hash bytea NOT NULL, leaf bytea NOT NULL)"
sql=$(mktemp)
trap 'rm -f "$sql"; psql "$url" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null' EXIT
echo "INSERT INTO $schema.leaves (hash, leaf) VALUES (sha256('x'::bytea), convert_to(repeat('x', 168), 'UTF8'));" > "$sql"
echo "== pgbench: 8 clients, one single-row INSERT per transaction, ${secs}s"
pgbench -n -c 8 -j 2 -T "$secs" -f "$sql" "$url" 2>&1 | grep -E '^(tps|latency average|number of transactions actually)'

echo "== trust audit, 8 writers, 1 entry per call"
"$load" shared 8 1 "$secs"
"$load" handles 8 1 "$secs"
echo "== trust audit, batched (1000 entries per call)"
"$load" shared 1 1000 "$secs"
"$load" handles 4 1000 "$secs"
