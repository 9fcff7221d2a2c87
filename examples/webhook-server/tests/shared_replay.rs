//! Two server processes share one replay store (`TRUST_REPLAY_STORE`, Redis and PostgreSQL):
//! the same delivery sent to both at once is processed by exactly one, and the other answers
//! `duplicate`, however the requests race. Needs the servers `.ci/servers` starts: skipped with
//! a printed reason without them, a failure under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use trust_core::webhook::shopify;

const SECRET: &str = "shpss_shared_replay_test";

/// The store URL from `var`, or `None` (skip) on a machine without that server.
fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{var} is not set under CI=true: .ci/servers must start the server")
        }
        Err(_) => {
            eprintln!("skipped: {var} is not set (run `source .ci/servers` to start one)");
            None
        }
    }
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(store: &str) -> Server {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_webhook-server"))
        .env("SHOPIFY_SECRET", SECRET)
        .env("STRIPE_WHSEC", "whsec_unused")
        .env("HUBSPOT_SECRET", "unused")
        .env("PUBLIC_BASE_URL", "https://hooks.example.com")
        .env("LISTEN", addr.to_string())
        .env("TRUST_REPLAY_STORE", store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, addr }
}

fn post(addr: SocketAddr, id: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /webhooks/shopify HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\nX-Shopify-Hmac-Sha256: {}\r\nX-Shopify-Webhook-Id: {id}\r\n\r\n",
        body.len(),
        shopify::sign_webhook(SECRET.as_bytes(), body),
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut resp = String::new();
    stream.read_to_string(&mut resp).unwrap();
    resp.split("\r\n\r\n").nth(1).unwrap_or("").to_owned()
}

fn race(store: &str) {
    let (a, b) = (start(store), start(store));
    // A fresh run id: rounds of earlier runs sharing the store never collide with these.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    for round in 0..20 {
        let id = format!("race-{run:x}-{round}");
        let body = format!(r#"{{"order":"{id}"}}"#).into_bytes();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let replies: Vec<String> = [a.addr, b.addr]
            .into_iter()
            .map(|addr| {
                let (id, body, barrier) = (id.clone(), body.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    post(addr, &id, &body)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        let processed = replies
            .iter()
            .filter(|r| r.starts_with("ok shopify"))
            .count();
        let duplicates = replies.iter().filter(|r| *r == "duplicate\n").count();
        assert_eq!(
            (processed, duplicates),
            (1, 1),
            "round {round}: {replies:?}"
        );
    }
}

#[test]
fn two_workers_on_redis_process_a_delivery_once() {
    if let Some(url) = server("TRUST_TEST_REDIS_URL") {
        race(&url);
    }
}

#[test]
fn two_workers_on_postgres_process_a_delivery_once() {
    if let Some(url) = server("TRUST_TEST_POSTGRES_URL") {
        race(&url);
    }
}

#[test]
fn a_bad_replay_store_url_stops_the_server_with_exit_2_and_no_password() {
    let out = Command::new(env!("CARGO_BIN_EXE_webhook-server"))
        .env("SHOPIFY_SECRET", SECRET)
        .env("STRIPE_WHSEC", "whsec_unused")
        .env("HUBSPOT_SECRET", "unused")
        .env("PUBLIC_BASE_URL", "https://hooks.example.com")
        .env("LISTEN", "127.0.0.1:0")
        .env("TRUST_REPLAY_STORE", "mysql://user:s3cret-pw@127.0.0.1/db")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TRUST_REPLAY_STORE"), "{err}");
    assert!(!err.contains("s3cret-pw"), "{err}");
}
