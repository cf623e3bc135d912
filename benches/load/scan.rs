//! Finding the load tool's markers in raw stream bytes, without parsing XML.
//!
//! Parsing every copy with rxml would cost the load tool about 8 µs per
//! delivery (PERF.md §2), a fifth of a core at 24k deliveries/s on a
//! machine whose two cores are what is being measured. The tool only needs
//! to know *which* message a copy belongs to and *which* iq was answered,
//! so it puts unique markers where every server keeps them unchanged:
//! - a message's body is `LTx<seq>y`;
//! - an iq's id is `LJq<n>z`.

use memchr::memmem;

/// What one marker found in the bytes means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A copy of message `seq` arrived.
    Copy(u64),
    /// The iq `n` was answered; `true` if with `type='error'`.
    Iq(u64, bool),
}

pub(crate) const MSG_MARK: &[u8] = b"LTx";
pub(crate) const IQ_MARK: &[u8] = b"LJq";

/// The body text of message `seq`.
pub(crate) fn body(seq: u64) -> String {
    format!("LTx{seq}y")
}

/// The id of iq `n`.
pub(crate) fn iq_id(n: u64) -> String {
    format!("LJq{n}z")
}

/// A growing buffer of received bytes and how far it has been scanned.
#[derive(Default)]
pub(crate) struct Scanner {
    pub(crate) buf: Vec<u8>,
    from: usize,
    /// Where the next search for error stanzas starts.
    err_from: usize,
    /// Stanzas that carried `error`, for the report (a run with errors is
    /// suspect even if every copy arrived).
    pub(crate) errors: u64,
}

/// Bytes kept before the scan position, so that an iq marker can look back
/// to its tag's `<`.
const CONTEXT: usize = 512;

impl Scanner {
    /// Scans what arrived since the last call and calls `on` for each
    /// complete marker, in order. A marker cut off at the end of the
    /// buffer is left for the next call.
    pub(crate) fn scan(&mut self, mut on: impl FnMut(Event)) {
        self.count_errors();
        let mut pos = self.from;
        let mut stop = None;
        while let Some(rel) = memchr::memchr(b'L', &self.buf[pos..]) {
            let at = pos + rel;
            let rest = &self.buf[at..];
            if rest.len() < 3 {
                stop = Some(at);
                break;
            }
            let mark = &rest[..3];
            if mark != MSG_MARK && mark != IQ_MARK {
                pos = at + 1;
                continue;
            }
            let digits = rest[3..].iter().take_while(|b| b.is_ascii_digit()).count();
            let Some(&end) = rest.get(3 + digits) else {
                stop = Some(at);
                break;
            };
            let number = std::str::from_utf8(&rest[3..3 + digits])
                .ok()
                .and_then(|d| d.parse::<u64>().ok());
            let after = at + 3 + digits + 1;
            match (mark == MSG_MARK, end, number) {
                (true, b'y', Some(seq)) => on(Event::Copy(seq)),
                (false, b'z', Some(n)) => {
                    // The iq's own tag: from its `<` to its `>`.
                    let Some(close) = memchr::memchr(b'>', &self.buf[after..]) else {
                        stop = Some(at);
                        break;
                    };
                    let open = memchr::memrchr(b'<', &self.buf[..at]).unwrap_or(0);
                    let tag = &self.buf[open..after + close];
                    on(Event::Iq(n, memmem::find(tag, b"error").is_some()));
                }
                _ => {}
            }
            pos = after;
        }
        let len = self.buf.len();
        // A marker's first bytes may end the buffer ("L", "LT").
        self.from = stop.unwrap_or_else(|| pos.max(len.saturating_sub(2)).min(len));
        let drop = self.from.min(self.err_from).saturating_sub(CONTEXT);
        if drop > 0 {
            self.buf.drain(..drop);
            self.from -= drop;
            self.err_from -= drop;
        }
    }

    /// Counts `type='error'` (either quote) once each, also when a read
    /// cuts one in two.
    fn count_errors(&mut self) {
        const LEN: usize = b"type='error'".len();
        let fresh = &self.buf[self.err_from..];
        let mut last_end = 0;
        for pattern in [&b"type='error'"[..], &b"type=\"error\""[..]] {
            for at in memmem::find_iter(fresh, pattern) {
                self.errors += 1;
                last_end = last_end.max(at + LEN);
            }
        }
        let len = self.buf.len();
        self.err_from = (self.err_from + last_end).max(len.saturating_sub(LEN - 1));
    }
}

/// The value of attribute `name` in the first tag of `stanza`, with
/// either quote style.
pub(crate) fn attr<'a>(stanza: &'a [u8], name: &str) -> Option<&'a str> {
    let tag_end = memchr::memchr(b'>', stanza)?;
    let tag = &stanza[..tag_end];
    for quote in [b'\'', b'"'] {
        let mut needle = Vec::with_capacity(name.len() + 3);
        needle.push(b' ');
        needle.extend_from_slice(name.as_bytes());
        needle.push(b'=');
        needle.push(quote);
        if let Some(at) = memmem::find(tag, &needle) {
            let value = &tag[at + needle.len()..];
            let len = memchr::memchr(quote, value)?;
            return std::str::from_utf8(&value[..len]).ok();
        }
    }
    None
}

/// The smoke checks `cargo test` runs: markers split at every byte.
pub(crate) fn self_check() {
    let stream: &[u8] = b"<message from='a' type='groupchat'><body>LTx17y</body></message>\
        <iq type='result' id='LJq4z' from='x'/><iq id=\"LJq5z\" type=\"error\"><error/></iq>\
        <message><body>LTx18y</body></message>";
    let want = [
        Event::Copy(17),
        Event::Iq(4, false),
        Event::Iq(5, true),
        Event::Copy(18),
    ];
    for cut in 0..stream.len() {
        let mut s = Scanner::default();
        let mut got = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            s.buf.extend_from_slice(part);
            s.scan(|e| got.push(e));
        }
        assert_eq!(got, want, "split at byte {cut}");
    }
    let mut s = Scanner::default();
    for b in stream {
        s.buf.push(*b);
        s.scan(|_| {});
    }
    assert_eq!(s.errors, 1, "one error stanza");
    assert_eq!(attr(b"<iq to='a@b' id=\"x\">", "id"), Some("x"));
    assert_eq!(attr(b"<iq to='a@b' id=\"x\">", "to"), Some("a@b"));
    assert_eq!(attr(b"<iq to='a@b'>", "from"), None);
}
