//! Runs the example endpoint: `cargo run -p webhook-server` with `SHOPIFY_SECRET`,
//! `STRIPE_WHSEC`, `HUBSPOT_SECRET`, `PUBLIC_BASE_URL` set, listening on `LISTEN`
//! (default `127.0.0.1:8080`). With `TRUST_REPLAY_STORE=redis://…` or `postgres://…`, every
//! worker sharing it answers a delivery once.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let config = match webhook_server::config_from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "error: {e}\nhint: export SHOPIFY_SECRET, STRIPE_WHSEC, HUBSPOT_SECRET and PUBLIC_BASE_URL"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let seen = match webhook_server::seen_store_from_env() {
        Ok(s) => s,
        Err((code, e)) => {
            eprintln!("error: {e}\nhint: TRUST_REPLAY_STORE takes a redis:// or postgres:// URL");
            return std::process::ExitCode::from(code);
        }
    };
    let addr = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return std::process::ExitCode::from(3);
        }
    };
    eprintln!("listening on http://{addr}/webhooks/{{shopify,stripe,hubspot}}");
    match axum::serve(listener, webhook_server::app_with_seen_store(config, seen)).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(70)
        }
    }
}
