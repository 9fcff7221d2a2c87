//! Moving many messages to the current Primary: idempotent, resumable, per-item results.
