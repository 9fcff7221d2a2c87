//! Gives the shared library a SONAME carrying the full version (`libtrust.so.0.1.0`).
//!
//! Before 1.0 every release may change the ABI (rustls-ffi's stance), so a program linked
//! against one release must not silently load another: the dynamic loader refuses a library
//! whose SONAME differs from the one recorded at link time. Static linking is unaffected.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtrust.so.{version}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
