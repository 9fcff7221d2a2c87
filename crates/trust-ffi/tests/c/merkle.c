/*
 * merkle.c: trust_merkle_* against the Certificate Transparency / transparency-dev test data:
 * leaf inputs and roots from transparency-dev/merkle testonly/constants.go (LeafInputs,
 * RootHashes), proofs from proof/verify_test.go (inclusionProofs, consistencyProofs).
 */
#include "check.h"

static void unhex(const char *hex, uint8_t *out, size_t out_len) {
  CHECK(strlen(hex) == 2 * out_len);
  for (size_t i = 0; i < out_len; i++) {
    unsigned byte;
    CHECK(sscanf(hex + 2 * i, "%2x", &byte) == 1);
    out[i] = (uint8_t)byte;
  }
}

static const char *LEAF_INPUTS[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *ROOTS[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* Leaf hashes of the 8 inputs, concatenated. */
static uint8_t leaves[8 * TRUST_MERKLE_HASH_BYTES];
static uint8_t roots[9][TRUST_MERKLE_HASH_BYTES];

static void test_leaf_hashes_and_roots(void) {
  trust_error *err = NULL;
  CHECK(trust_merkle_hash_bytes() == TRUST_MERKLE_HASH_BYTES);
  CHECK(TRUST_MERKLE_HASH_BYTES == 32);
  for (int i = 0; i < 8; i++) {
    uint8_t data[16];
    size_t len = strlen(LEAF_INPUTS[i]) / 2;
    unhex(LEAF_INPUTS[i], data, len);
    CHECK_OK(trust_merkle_leaf_hash(len ? data : NULL, len, leaves + 32 * i, 32, &err), err);
  }
  for (int size = 0; size <= 8; size++) {
    uint8_t root[32];
    unhex(ROOTS[size], roots[size], 32);
    CHECK_OK(trust_merkle_root(size ? leaves : NULL, 32 * (size_t)size, root, sizeof root, &err), err);
    CHECK(memcmp(root, roots[size], 32) == 0);
  }
  /* The leaf hash of one leaf is the root of the tree of one leaf. */
  CHECK(memcmp(leaves, roots[1], 32) == 0);
}

static void test_published_inclusion_proofs(void) {
  static const struct {
    uint64_t index, size;
    const char *proof;
  } cases[] = {
      {0, 8,
       "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
       "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
      {5, 8,
       "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
       "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
       "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
      {2, 3, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"},
      {1, 5,
       "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
       "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"},
      {0, 1, ""},
  };
  trust_error *err = NULL;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    uint8_t proof[3 * 32];
    size_t proof_len = strlen(cases[c].proof) / 2;
    unhex(cases[c].proof, proof, proof_len);
    const uint8_t *leaf = leaves + 32 * cases[c].index;
    const uint8_t *root = roots[cases[c].size];

    /* The prover produces the published proof. */
    trust_bytes *made = NULL;
    CHECK_OK(trust_merkle_inclusion_proof(leaves, 32 * (size_t)cases[c].size, cases[c].index, &made, &err), err);
    CHECK(trust_bytes_len(made) == proof_len && memcmp(trust_bytes_data(made), proof, proof_len) == 0);
    trust_bytes_free(made);

    /* The verifier accepts it... */
    CHECK_OK(trust_merkle_verify_inclusion(cases[c].index, cases[c].size, leaf, 32, proof, proof_len, root, 32, &err), err);
    /* ...and rejects a wrong root, a wrong index and a truncated or extended proof. */
    CHECK_STATUS(trust_merkle_verify_inclusion(cases[c].index, cases[c].size, leaf, 32, proof, proof_len, roots[0], 32, NULL),
                 TRUST_VERIFICATION_FAILED);
    CHECK_STATUS(trust_merkle_verify_inclusion(cases[c].size, cases[c].size, leaf, 32, proof, proof_len, root, 32, &err),
                 TRUST_VERIFICATION_FAILED);
    EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "PROOF_OUT_OF_RANGE");
    err = NULL;
    if (proof_len > 0) {
      CHECK_STATUS(trust_merkle_verify_inclusion(cases[c].index, cases[c].size, leaf, 32, proof, proof_len - 32, root, 32, &err),
                   TRUST_VERIFICATION_FAILED);
      EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "PROOF_WRONG_LENGTH");
      err = NULL;
      proof[0] ^= 1;
      CHECK_STATUS(trust_merkle_verify_inclusion(cases[c].index, cases[c].size, leaf, 32, proof, proof_len, root, 32, &err),
                   TRUST_VERIFICATION_FAILED);
      EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "PROOF_ROOT_MISMATCH");
      err = NULL;
    }
  }
}

static void test_published_consistency_proofs(void) {
  static const struct {
    uint64_t size1, size2;
    const char *proof;
  } cases[] = {
      {1, 1, ""},
      {1, 8,
       "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
       "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
      {6, 8,
       "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"
       "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
       "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
      {2, 5,
       "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
       "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"},
      {6, 7,
       "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"
       "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"
       "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
  };
  trust_error *err = NULL;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    uint8_t proof[3 * 32];
    size_t proof_len = strlen(cases[c].proof) / 2;
    unhex(cases[c].proof, proof, proof_len);
    const uint8_t *root1 = roots[cases[c].size1], *root2 = roots[cases[c].size2];

    trust_bytes *made = NULL;
    CHECK_OK(trust_merkle_consistency_proof(leaves, 32 * (size_t)cases[c].size2, cases[c].size1, &made, &err), err);
    CHECK(trust_bytes_len(made) == proof_len && memcmp(trust_bytes_data(made), proof, proof_len) == 0);
    trust_bytes_free(made);

    CHECK_OK(trust_merkle_verify_consistency(cases[c].size1, cases[c].size2, proof, proof_len, root1, 32, root2, 32, &err), err);
    /* Swapped roots (unless equal) and time travel are rejected. */
    if (cases[c].size1 != cases[c].size2) {
      CHECK_STATUS(trust_merkle_verify_consistency(cases[c].size1, cases[c].size2, proof, proof_len, root2, 32, root1, 32, NULL),
                   TRUST_VERIFICATION_FAILED);
      CHECK_STATUS(trust_merkle_verify_consistency(cases[c].size2, cases[c].size1, proof, proof_len, root2, 32, root1, 32, NULL),
                   TRUST_VERIFICATION_FAILED);
    }
  }
  /* Consistency from the empty tree proves nothing and is rejected. */
  CHECK_STATUS(trust_merkle_verify_consistency(0, 8, NULL, 0, roots[0], 32, roots[8], 32, &err), TRUST_VERIFICATION_FAILED);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "PROOF_OUT_OF_RANGE");
}

static void test_argument_errors(void) {
  uint8_t out[32], small[31];
  trust_bytes *proof = NULL;
  trust_error *err = NULL;

  /* Undersized output buffer: nothing is written. */
  memset(small, 0xAA, sizeof small);
  CHECK_STATUS(trust_merkle_leaf_hash((const uint8_t *)"x", 1, small, sizeof small, &err), TRUST_BUFFER_TOO_SMALL);
  EXPECT_ERROR(err, TRUST_BUFFER_TOO_SMALL, "BUFFER_TOO_SMALL");
  err = NULL;
  for (size_t i = 0; i < sizeof small; i++) CHECK(small[i] == 0xAA);
  CHECK_STATUS(trust_merkle_root(leaves, 64, small, sizeof small, NULL), TRUST_BUFFER_TOO_SMALL);

  /* NULL pointers. */
  CHECK_STATUS(trust_merkle_leaf_hash(NULL, 1, out, 32, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_merkle_leaf_hash((const uint8_t *)"x", 1, NULL, 32, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_merkle_root(NULL, 32, out, 32, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_merkle_inclusion_proof(leaves, 64, 0, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_merkle_consistency_proof(leaves, 64, 1, NULL, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_merkle_verify_inclusion(0, 1, NULL, 32, NULL, 0, roots[1], 32, NULL), TRUST_NULL_ARGUMENT);
  CHECK_STATUS(trust_merkle_verify_consistency(1, 1, NULL, 0, roots[1], 32, NULL, 32, NULL), TRUST_NULL_ARGUMENT);

  /* Lengths that are not whole hashes. */
  CHECK_STATUS(trust_merkle_root(leaves, 33, out, 32, &err), TRUST_INVALID_ARGUMENT);
  EXPECT_ERROR(err, TRUST_INVALID_ARGUMENT, "INVALID_ARGUMENT");
  err = NULL;
  CHECK_STATUS(trust_merkle_verify_inclusion(0, 1, leaves, 31, NULL, 0, roots[1], 32, NULL), TRUST_INVALID_ARGUMENT);
  CHECK_STATUS(trust_merkle_verify_consistency(1, 2, leaves, 40, roots[1], 32, roots[2], 32, NULL), TRUST_INVALID_ARGUMENT);

  /* Impossible proof requests. */
  CHECK_STATUS(trust_merkle_inclusion_proof(leaves, 64, 2, &proof, &err), TRUST_VERIFICATION_FAILED);
  CHECK(proof == NULL);
  EXPECT_ERROR(err, TRUST_VERIFICATION_FAILED, "PROOF_OUT_OF_RANGE");
  CHECK_STATUS(trust_merkle_consistency_proof(leaves, 64, 0, &proof, NULL), TRUST_VERIFICATION_FAILED);
  CHECK_STATUS(trust_merkle_consistency_proof(leaves, 64, 3, &proof, NULL), TRUST_VERIFICATION_FAILED);
  CHECK(proof == NULL);
}

int main(void) {
  test_leaf_hashes_and_roots();
  test_published_inclusion_proofs();
  test_published_consistency_proofs();
  test_argument_errors();
  puts("merkle: ok");
  return 0;
}
