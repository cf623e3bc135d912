//! Fuzzes config parsing and validation: bytes as `/fuzz/config.toml` with
//! the secret in the environment (see `mixgate::fuzzing::fuzz_config`).
//! Nothing may panic, and the effective settings never show the secret.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mixgate::fuzzing::fuzz_config(data);
});
