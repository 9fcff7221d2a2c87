//! Known answers from the Certificate Transparency / transparency-dev test data, the published
//! proofs and their corruptions, and a property test against the literal RFC 6962 recursion.

use super::*;
use proptest::prelude::*;

fn h(s: &str) -> Hash {
    let v = hex::decode(s).unwrap();
    v.try_into().unwrap()
}

/// transparency-dev/merkle `testonly/constants.go` `LeafInputs()` (the same `kInputs` as
/// google/certificate-transparency `cpp/merkletree/merkle_tree_test.cc`).
fn leaf_inputs() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| hex::decode(s).unwrap())
    .collect()
}

fn leaves8() -> Vec<Hash> {
    leaf_inputs().iter().map(|d| leaf_hash(d)).collect()
}

/// transparency-dev/merkle `testonly/constants.go` `RootHashes()`, sizes 0..=8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// transparency-dev/merkle `testonly/constants.go` `NodeHashes()`: [level][index].
fn node_hashes() -> Vec<Vec<Hash>> {
    vec![
        vec![
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
            h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
        ],
        vec![
            h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        ],
        vec![
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
        vec![h(
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        )],
    ]
}

/// transparency-dev/merkle `proof/verify_test.go` `inclusionProofs` (0-based index here; the Go
/// table is 1-based), `(index, size, proof)`.
fn published_inclusion() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (0, 1, vec![]),
    ]
}

/// transparency-dev/merkle `proof/verify_test.go` `consistencyProofs`, `(size1, size2, proof)`.
fn published_consistency() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    assert_eq!(EMPTY_ROOT, h(ROOTS[0]));
    assert_eq!(root(&[]), EMPTY_ROOT);
    assert_eq!(CompactRange::new().root(), EMPTY_ROOT);
}

#[test]
fn rfc6962_roots_of_every_prefix() {
    let leaves = leaves8();
    for (n, want) in ROOTS.iter().enumerate() {
        assert_eq!(root(&leaves[..n]), h(want), "size {n}");
    }
}

#[test]
fn rfc6962_node_hashes_via_node_source_and_compact_range() {
    let leaves = leaves8();
    let nodes = node_hashes();
    for (level, row) in nodes.iter().enumerate() {
        for (index, want) in row.iter().enumerate() {
            assert_eq!(
                leaves.node(level as u32, index as u64).unwrap(),
                *want,
                "level {level} index {index}"
            );
        }
    }
    // push_with reports every completed node exactly once, matching the table.
    let mut seen = vec![Vec::new(); 4];
    let mut range = CompactRange::new();
    for leaf in &leaves {
        range.push_with(*leaf, |level, index, hash| {
            assert_eq!(seen[level as usize].len() as u64, index);
            seen[level as usize].push(*hash);
        });
    }
    assert_eq!(seen, nodes);
    assert_eq!(range.hashes(), &[nodes[3][0]]);
}

#[test]
fn published_inclusion_proofs_generate_and_verify() {
    let leaves = leaves8();
    for (index, size, proof) in published_inclusion() {
        let tree = &leaves[..size as usize];
        assert_eq!(
            inclusion_proof(tree, index).unwrap(),
            proof,
            "{index}/{size}"
        );
        let r = h(ROOTS[size as usize]);
        verify_inclusion(index, size, &leaves[index as usize], &proof, &r).unwrap();
        for (desc, probe) in corrupt_inclusion(index, size, &proof, &r, &leaves[index as usize]) {
            assert!(
                verify_inclusion(probe.0, probe.1, &probe.2, &probe.3, &probe.4).is_err(),
                "{index}/{size}: {desc} verified"
            );
        }
    }
}

type InclusionProbe = (u64, u64, Hash, Vec<Hash>, Hash);

/// The corruptions of transparency-dev's `corruptInclusionProof`.
fn corrupt_inclusion(
    index: u64,
    size: u64,
    proof: &[Hash],
    r: &Hash,
    leaf: &Hash,
) -> Vec<(String, InclusionProbe)> {
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    let p = proof.to_vec();
    let mut out: Vec<(String, InclusionProbe)> = vec![
        (
            "index-1".into(),
            (index.wrapping_sub(1), size, *leaf, p.clone(), *r),
        ),
        ("index+1".into(), (index + 1, size, *leaf, p.clone(), *r)),
        ("index^2".into(), (index ^ 2, size, *leaf, p.clone(), *r)),
        ("size*2".into(), (index, size * 2, *leaf, p.clone(), *r)),
        ("size/2".into(), (index, size / 2, *leaf, p.clone(), *r)),
        (
            "wrong leaf".into(),
            (index, size, leaf_hash(b"WrongLeaf"), p.clone(), *r),
        ),
        (
            "empty root".into(),
            (index, size, *leaf, p.clone(), EMPTY_ROOT),
        ),
        ("random root".into(), (index, size, *leaf, p.clone(), some)),
        (
            "trailing root".into(),
            (index, size, *leaf, [&p[..], &[*r]].concat(), *r),
        ),
        (
            "preceding root".into(),
            (index, size, *leaf, [&[*r], &p[..]].concat(), *r),
        ),
    ];
    for i in 0..p.len() {
        let mut q = p.clone();
        q[i][0] ^= 8;
        out.push((format!("bit flip in {i}"), (index, size, *leaf, q, *r)));
    }
    if !p.is_empty() {
        out.push((
            "removed".into(),
            (index, size, *leaf, p[..p.len() - 1].to_vec(), *r),
        ));
    }
    if p.len() > 1 {
        let q = [&[p[0], some][..], &p[1..]].concat();
        out.push(("inserted".into(), (index, size, *leaf, q, *r)));
    }
    // A probe that coincides with the genuine statement is not a corruption.
    out.retain(|(_, probe)| {
        !(probe.0 == index && probe.1 == size && probe.3 == p && probe.4 == *r && probe.2 == *leaf)
    });
    out
}

#[test]
fn published_consistency_proofs_generate_and_verify() {
    let leaves = leaves8();
    for (size1, size2, proof) in published_consistency() {
        let tree = &leaves[..size2 as usize];
        assert_eq!(
            consistency_proof(tree, size1).unwrap(),
            proof,
            "{size1}->{size2}"
        );
        let r1 = h(ROOTS[size1 as usize]);
        let r2 = h(ROOTS[size2 as usize]);
        verify_consistency(size1, size2, &proof, &r1, &r2).unwrap();
        if proof.is_empty() {
            continue;
        }
        // transparency-dev's corruptConsistencyProof.
        let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (size1 - 1, size2, r1, r2, proof.clone()),
            (size1 + 1, size2, r1, r2, proof.clone()),
            (size1 ^ 2, size2, r1, r2, proof.clone()),
            (size1, size2 * 2, r1, r2, proof.clone()),
            (size1, size2 / 2, r1, r2, proof.clone()),
            (size1, size2, some, r2, proof.clone()),
            (size1, size2, r1, some, proof.clone()),
            (size1, size2, r2, r1, proof.clone()),
            (size1, size2, r1, r2, vec![]),
            (size1, size2, r1, r2, [&proof[..], &[r1]].concat()),
            (size1, size2, r1, r2, [&proof[..], &[r2]].concat()),
            (size1, size2, r1, r2, [&[r1], &proof[..]].concat()),
            (size1, size2, r1, r2, [&[r2], &proof[..]].concat()),
            (size1, size2, r1, r2, [&[proof[0]], &proof[..]].concat()),
            (size1, size2, r1, r2, proof[..proof.len() - 1].to_vec()),
        ];
        for i in 0..proof.len() {
            let mut q = proof.clone();
            q[i][0] ^= 16;
            probes.push((size1, size2, r1, r2, q));
        }
        for (s1, s2, a, b, p) in probes {
            assert!(
                verify_consistency(s1, s2, &p, &a, &b).is_err(),
                "{size1}->{size2}: probe ({s1},{s2}) verified"
            );
        }
    }
}

#[test]
fn verifier_policy_edges() {
    let some = leaf_hash(b"data");
    // Single entry: root equals leaf, proof empty.
    verify_inclusion(0, 1, &some, &[], &some).unwrap();
    assert_eq!(
        verify_inclusion(0, 1, &some, &[], &EMPTY_ROOT),
        Err(MerkleError::RootMismatch)
    );
    // index >= size, size 0, u64::MAX.
    for (i, n) in [(0, 0), (1, 0), (2, 1), (u64::MAX, 8), (8, 8)] {
        assert_eq!(
            verify_inclusion(i, n, &some, &[], &EMPTY_ROOT),
            Err(MerkleError::OutOfRange),
            "{i}/{n}"
        );
    }
    // Consistency from 0 is meaningless, even 0 -> 0 with equal roots.
    assert_eq!(
        verify_consistency(0, 0, &[], &EMPTY_ROOT, &EMPTY_ROOT),
        Err(MerkleError::OutOfRange)
    );
    assert_eq!(
        verify_consistency(0, 1, &[], &EMPTY_ROOT, &some),
        Err(MerkleError::OutOfRange)
    );
    // Time travel.
    assert_eq!(
        verify_consistency(2, 1, &[], &some, &some),
        Err(MerkleError::OutOfRange)
    );
    // Same size: empty proof and equal roots only.
    verify_consistency(1, 1, &[], &some, &some).unwrap();
    assert!(verify_consistency(1, 1, &[], &some, &EMPTY_ROOT).is_err());
    assert!(verify_consistency(1, 1, &[EMPTY_ROOT], &some, &some).is_err());
    // Empty proof between different sizes.
    assert!(verify_consistency(1, 2, &[], &some, &some).is_err());
    // Provers refuse impossible requests.
    assert_eq!(inclusion_proof(&[some], 1), Err(MerkleError::OutOfRange));
    assert_eq!(consistency_proof(&[some], 0), Err(MerkleError::OutOfRange));
    assert_eq!(consistency_proof(&[some], 2), Err(MerkleError::OutOfRange));
    assert_eq!(MerkleError::RootMismatch.category(), Category::Verification);
    assert_eq!(MerkleError::Unavailable.category(), Category::Input);
}

#[test]
fn compact_range_round_trips_through_parts() {
    let leaves = leaves8();
    let mut range = CompactRange::new();
    for leaf in &leaves[..7] {
        range.push(*leaf);
    }
    let copy = CompactRange::from_parts(7, range.hashes().to_vec()).unwrap();
    assert_eq!(copy.root(), h(ROOTS[7]));
    assert!(CompactRange::from_parts(8, range.hashes().to_vec()).is_none());
}

// ---------------------------------------------------------------------------------------------
// Naive reference: RFC 6962 §2.1 written as recursion over slices, nothing shared with the
// production code except leaf_hash/node_hash.
// ---------------------------------------------------------------------------------------------

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => EMPTY_ROOT,
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = k_of(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = k_of(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn synthetic(n: usize, seed: u8) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(&[seed, (i >> 8) as u8, i as u8]))
        .collect()
}

#[test]
fn every_proof_in_small_trees_matches_the_reference() {
    for n in 1..=40usize {
        let d = synthetic(n, 1);
        let r = mth(&d);
        assert_eq!(root(&d), r);
        for m in 0..n {
            let p = inclusion_proof(&d, m as u64).unwrap();
            assert_eq!(p, path(m, &d), "PATH({m}, {n})");
            verify_inclusion(m as u64, n as u64, &d[m], &p, &r).unwrap();
        }
        for m in 1..=n {
            let p = consistency_proof(&d, m as u64).unwrap();
            assert_eq!(p, subproof(m, &d, true), "PROOF({m}, {n})");
            verify_consistency(m as u64, n as u64, &p, &mth(&d[..m]), &r).unwrap();
        }
    }
}

proptest! {
    #[test]
    fn prover_and_verifier_agree_with_reference(n in 1usize..300, a in any::<u16>(), b in any::<u16>(), seed in any::<u8>()) {
        let d = synthetic(n, seed);
        let r = mth(&d);
        prop_assert_eq!(root(&d), r);
        let m = a as usize % n;
        let p = inclusion_proof(&d, m as u64).unwrap();
        prop_assert_eq!(&p, &path(m, &d));
        prop_assert!(verify_inclusion(m as u64, n as u64, &d[m], &p, &r).is_ok());
        // A proof for one index never verifies another leaf.
        let other = (m + 1 + b as usize % n.max(2)) % n;
        if other != m {
            prop_assert!(verify_inclusion(m as u64, n as u64, &d[other], &p, &r).is_err());
        }
        let s1 = 1 + b as usize % n;
        let c = consistency_proof(&d, s1 as u64).unwrap();
        prop_assert_eq!(&c, &subproof(s1, &d, true));
        prop_assert!(verify_consistency(s1 as u64, n as u64, &c, &mth(&d[..s1]), &r).is_ok());
        // A different old root never verifies.
        let wrong = leaf_hash(b"not the old root");
        prop_assert!(verify_consistency(s1 as u64, n as u64, &c, &wrong, &r).is_err());
    }
}

proptest! {
    /// Pushing aligned subtree roots gives the same range as pushing their leaves.
    #[test]
    fn push_subtree_equals_pushing_leaves(n in 1usize..600, cuts in proptest::collection::vec(1usize..600, 0..6)) {
        let d = synthetic(n, 9);
        let mut bounds: Vec<usize> = cuts.into_iter().filter(|c| *c < n).collect();
        bounds.push(n);
        bounds.sort_unstable();
        bounds.dedup();
        let mut range = CompactRange::new();
        let mut pos = 0usize;
        for b in bounds {
            while pos < b {
                // Largest aligned block starting at pos that fits before b.
                let mut w = if pos == 0 { 1usize << 40 } else { 1usize << pos.trailing_zeros() };
                while w > b - pos { w >>= 1; }
                prop_assert!(range.push_subtree(w.trailing_zeros(), root(&d[pos..pos + w])));
                pos += w;
            }
            prop_assert_eq!(range.root(), mth(&d[..b]));
        }
        // Misaligned pushes are refused.
        if n % 2 == 1 {
            prop_assert!(!range.push_subtree(1, EMPTY_ROOT));
        }
    }
}

/// Counts node reads; returns a hash derived from the position (the prover's read pattern does
/// not depend on hash values).
struct CountingSource {
    size: u64,
    reads: std::cell::Cell<u64>,
}

impl NodeSource for CountingSource {
    fn node(&self, level: u32, index: u64) -> Result<Hash, MerkleError> {
        assert!((index + 1) << level <= self.size, "read outside the tree");
        self.reads.set(self.reads.get() + 1);
        Ok(leaf_hash(&[level as u8, index as u8]))
    }
}

/// Proof generation from storage reads O(log n) nodes: at most 2·⌈log₂ n⌉ for any index of a
/// 10⁶-entry log (each proof element is one stored node, except one ragged right-edge element
/// folded from at most ⌈log₂ n⌉ stored nodes).
#[test]
fn proofs_from_storage_read_o_log_n_nodes() {
    for n in [1_000_000u64, (1 << 20) + 1, 999_999, 1 << 40] {
        let log2 = 64 - (n - 1).leading_zeros() as u64;
        let src = CountingSource {
            size: n,
            reads: std::cell::Cell::new(0),
        };
        let mut worst = 0;
        let step = (n / 4099).max(1);
        for i in (0..n).step_by(step as usize).chain([n - 1, n / 2, 0]) {
            src.reads.set(0);
            let p = inclusion_proof_from(&src, i, n).unwrap();
            assert!(p.len() as u64 <= log2);
            worst = worst.max(src.reads.get());
        }
        assert!(worst <= 2 * log2, "n={n}: {worst} reads > 2·{log2}");
        for old in [1, 3, n / 3, n - 1] {
            src.reads.set(0);
            consistency_proof_from(&src, old, n).unwrap();
            assert!(
                src.reads.get() <= 2 * log2 + 1,
                "consistency {old}->{n}: {}",
                src.reads.get()
            );
        }
    }
}
