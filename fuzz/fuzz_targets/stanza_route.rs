//! Fuzzes the router: raw bytes as one XML element, through routing into the
//! channel service over an in-memory fixture with two channels, reset before
//! every input (see `mixgate::fuzzing::fuzz_route`). Nothing may panic, a
//! `type='error'` stanza gets no answer, and everything sent is a
//! well-formed, addressed stanza.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mixgate::fuzzing::fuzz_route(data);
});
