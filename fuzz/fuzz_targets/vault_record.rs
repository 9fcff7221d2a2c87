//! Fuzzes the vault record parser: arbitrary bytes must never panic, and whatever parses must
//! re-serialize to a record that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trust_core::vault::parse_record;

fuzz_target!(|data: &[u8]| {
    let Ok(record) = parse_record(data) else {
        return;
    };
    assert!(record.secret_name().is_ok());
    let bytes = serde_json::to_vec(&record).expect("a parsed record serializes");
    let again = parse_record(&bytes).expect("and parses again");
    assert_eq!(again, record);
});
