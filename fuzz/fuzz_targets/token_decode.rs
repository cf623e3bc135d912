//! Fuzzes the invitation token decoder and verifier: no input may panic,
//! decode must accept only canonical spellings, and verify must fail exactly
//! where decode does (see `mixgate::invite::token::fuzz_decode`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mixgate::invite::token::fuzz_decode(data);
});
