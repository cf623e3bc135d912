//! Fuzzes the byte-level guard in front of the link's XML parser: no input
//! may panic, the output may not depend on how the bytes were split into
//! reads, and nothing the guard passes inside a stanza may be XML that the
//! stream's parser refuses (see `mixgate::fuzzing::fuzz_guard`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mixgate::fuzzing::fuzz_guard(data);
});
