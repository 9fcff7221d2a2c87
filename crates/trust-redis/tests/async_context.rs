//! Calls made from inside a tokio runtime (an axum or tonic handler, which is where a webhook
//! endpoint checks its replay store) must work like any other call: the `redis` client is used
//! through its synchronous API and starts no runtime of its own, so there is nothing to nest.
//! Needs TRUST_TEST_REDIS_URL (skipped with a printed reason without it, failing under CI=true).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use trust_core::ratelimit::{Quota, RateLimiter};
use trust_core::webhook::SeenStore;
use trust_redis::Redis;

fn url() -> Option<String> {
    match std::env::var("TRUST_TEST_REDIS_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "TRUST_TEST_REDIS_URL is unset under CI=true: the Redis tests must run"
            );
            eprintln!("skipped: TRUST_TEST_REDIS_URL is unset (no Redis to test against)");
            None
        }
    }
}

fn prefix() -> String {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    format!("trust-test:{}:", hex::encode(r))
}

#[test]
fn seen_ids_and_rate_limits_work_inside_an_async_handler() {
    let Some(url) = url() else {
        return;
    };
    // The flavour the example webhook server runs on (`#[tokio::main(flavor = "current_thread")]`).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        // Opening, using and dropping the handles all happen inside the runtime.
        let redis = Redis::open(&url).unwrap().with_prefix(&prefix());
        let seen = redis.seen_store();
        assert_eq!(seen.insert_if_absent("delivery-1", 100, 0), Ok(true));
        assert_eq!(seen.insert_if_absent("delivery-1", 100, 0), Ok(false));
        let limiter = redis.limiter(Quota::per_second(2).unwrap()).unwrap();
        assert!(limiter.check("tenant", "route", 1).is_ok());
        drop(limiter);
        drop(seen);
        drop(redis);
        // And from a task, as axum runs handlers.
        let url2 = std::env::var("TRUST_TEST_REDIS_URL").unwrap();
        let admitted = tokio::spawn(async move {
            let redis = Redis::open(&url2).unwrap().with_prefix(&prefix());
            redis.seen_store().insert_if_absent("delivery-2", 100, 0)
        })
        .await
        .unwrap();
        assert_eq!(admitted, Ok(true));
    });
}
