//! Link flags N-API addons need on some platforms (macOS `-undefined dynamic_lookup`).
fn main() {
    napi_build::setup();
}
