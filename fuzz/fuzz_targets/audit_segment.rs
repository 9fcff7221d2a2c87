//! Segment reader: header and record framing (versions 1 and 2) of arbitrary bytes never
//! panic, and every record the reader returns lies inside the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trust_core::internal::{
    AUDIT_SEGMENT_HEADER_LEN, audit_segment_decode_header, audit_segment_parse_records_in,
};

fuzz_target!(|data: &[u8]| {
    let _ = audit_segment_decode_header(data);
    let body = data.get(AUDIT_SEGMENT_HEADER_LEN..).unwrap_or(&[]);
    // Both segment versions: the header's version byte picks the framing rule (version 2
    // ends at a zero length).
    let version = data.get(8).copied().unwrap_or(1);
    let (records, stop) = audit_segment_parse_records_in(body, version);
    let mut end = 0;
    for r in &records {
        assert_eq!(r.offset, end);
        end = r.offset + r.encoded_len();
        assert!(end <= body.len());
        let _ = r.checksum_ok();
    }
    if let Some((off, _)) = stop {
        assert_eq!(off, end);
    }
});
