#!/usr/bin/env bash
# Key custody figures for docs/PERFORMANCE.md, measured in ONE run so that the raw device
# operations and trust's paths see the same machine load:
#
#   1. the criterion bench benches/benches/custody.rs: cold unwrap and warm seal through a
#      local root, the PKCS#11 root (SoftHSM2) and the AWS KMS root (moto emulator);
#   2. raw PKCS#11: `pkcs11-tool` (OpenSC) decrypting 48 bytes with AES-CBC-PAD under the SAME
#      token key the bench uses (one process: load the module, open a session, log in, find the
#      key, C_Decrypt), beside `trust decrypt` of a small file in a PKCS#11 home (one process:
#      the same steps plus opening the home and the envelope);
#   3. raw KMS: boto3 `Decrypt` against the SAME moto endpoint, in a loop in one Python process,
#      beside the bench's cold unwrap (one Decrypt through the Rust SDK).
#
# Usage (from the repository root):
#   source .ci/softhsm && source .ci/moto && benches/scripts/custody.sh
# Prints the machine, the load average, the criterion summary lines and the raw timings.
set -euo pipefail

: "${TRUST_TEST_PKCS11_MODULE:?source .ci/softhsm first}"
: "${TRUST_TEST_KMS_ENDPOINT:?source .ci/moto first}"
token=${TRUST_TEST_PKCS11_TOKEN:-trust-ci}
pin=${TRUST_TEST_PKCS11_PIN:-1234}
runs=${CUSTODY_RUNS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
date -u +"date: %Y-%m-%dT%H:%M:%SZ"

# Mean wall-clock milliseconds of "$@" over $runs runs (after one warm-up run).
mean_ms() {
  "$@" >/dev/null 2>&1
  local start end
  start=$(date +%s%N)
  for _ in $(seq 1 "$runs"); do "$@" >/dev/null 2>&1; done
  end=$(date +%s%N)
  echo "scale=2; ($end - $start) / 1000000 / $runs" | bc
}

echo "== 1. criterion (cold unwrap, warm seal)"
cargo bench -p trust-benches --bench custody 2>&1 | grep -E '^(cold_unwrap|warm_seal)|time:|skipping' || true

echo "== 2. PKCS#11: pkcs11-tool vs trust decrypt (processes, mean of $runs)"
p11() {
  pkcs11-tool --module "$TRUST_TEST_PKCS11_MODULE" --token-label "$token" --login --pin "$pin" "$@"
}
head -c 32 /dev/urandom > "$work/secret"
iv=00000000000000000000000000000000
p11 --encrypt --mechanism AES-CBC-PAD --iv "$iv" --label trust-bench-root \
  --input-file "$work/secret" --output-file "$work/secret.enc" >/dev/null 2>&1
echo "pkcs11-tool --decrypt (AES-CBC-PAD, 48 B): $(mean_ms p11 --decrypt --mechanism AES-CBC-PAD --iv "$iv" --label trust-bench-root --input-file "$work/secret.enc" --output-file "$work/secret.dec") ms"
cmp -s "$work/secret" "$work/secret.dec" || { echo "pkcs11-tool round trip mismatch" >&2; exit 1; }

cargo build -q --release -p trust-cli
trust=$PWD/target/release/trust
[ -n "${CARGO_TARGET_DIR:-}" ] && trust=$CARGO_TARGET_DIR/release/trust
home=$work/home
uri="pkcs11:token=$token;object=trust-bench-cli-$$?module-path=$TRUST_TEST_PKCS11_MODULE"
TRUST_PKCS11_PIN=$pin "$trust" --home "$home" init --root-pkcs11 "$uri" >/dev/null
TRUST_PKCS11_PIN=$pin "$trust" --home "$home" keys create orders >/dev/null
printf 'shpat_0123456789abcdef' > "$work/plain"
TRUST_PKCS11_PIN=$pin "$trust" --home "$home" encrypt --key orders --context t=acme \
  -i "$work/plain" -o "$work/sealed.tle"
trust_decrypt() {
  TRUST_PKCS11_PIN=$pin "$trust" --home "$home" decrypt --context t=acme -i "$work/sealed.tle"
}
echo "trust decrypt (PKCS#11 home, cold process): $(mean_ms trust_decrypt) ms"

echo "== 3. KMS: boto3 Decrypt vs the Rust root (moto emulator)"
py=python3
"$py" -c 'import boto3' 2>/dev/null || py=target/moto-venv/bin/python
"$py" - "$TRUST_TEST_KMS_ENDPOINT" <<'EOF'
import sys, time, boto3
ep = sys.argv[1]
kms = boto3.client("kms", endpoint_url=ep, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
key = kms.create_key()["KeyMetadata"]["KeyId"]
ctx = {"trust:aad": "YmVuY2g=", "trust:store": "bench"}
blob = kms.encrypt(KeyId=key, Plaintext=b"\x01" + b"\x09" * 32, EncryptionContext=ctx)["CiphertextBlob"]
for _ in range(20):
    kms.decrypt(KeyId=key, CiphertextBlob=blob, EncryptionContext=ctx)
n = 300
t = time.perf_counter()
for _ in range(n):
    kms.decrypt(KeyId=key, CiphertextBlob=blob, EncryptionContext=ctx)
dt = (time.perf_counter() - t) / n
print(f"boto3 Decrypt round trip (mean of {n}): {dt * 1000:.2f} ms")
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
