//! `RedactingWriter` under `tracing-subscriber`: every formatted log line is redacted.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test fails

use std::io::Write;
use std::sync::{Arc, Mutex};

use trust_core::redact::{Pii, Redactor};

/// A writer collecting everything into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_log_line_goes_through_the_redactor() {
    let captured = Captured::default();
    let sink = captured.clone();
    let redactor = Redactor::builder()
        .literal("odoo-password-123")
        .unwrap()
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_writer(move || redactor.writer(sink.clone()))
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let email = Pii::new("jane@example.com");
        tracing::info!(
            token = "shpat_0123456789abcdef0123456789abcdef",
            "calling Shopify"
        );
        tracing::warn!("upstream rejected Authorization: Bearer abcdefghijklmnop0123456789");
        tracing::error!(customer = ?email, "login with odoo-password-123 failed");
        tracing::info!(order = 4242, "synced");
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for leaked in [
        "shpat_0123",
        "abcdefghijklmnop0123456789",
        "odoo-password-123",
        "jane@example.com",
    ] {
        assert!(!text.contains(leaked), "{leaked} leaked into: {text}");
    }
    assert!(text.contains("[REDACTED:shopify]"), "{text}");
    assert!(text.contains("Bearer [REDACTED:bearer]"), "{text}");
    assert!(text.contains("[REDACTED:secret]"), "{text}");
    assert!(text.contains("[REDACTED:pii]"), "{text}");
    assert!(
        text.contains("order=4242"),
        "ordinary fields are kept: {text}"
    );
    assert_eq!(text.lines().count(), 4, "{text}");
}
