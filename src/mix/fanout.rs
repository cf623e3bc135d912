//! Fan-out: one reflected message, rendered once, copied to every recipient
//! with only the `to` attribute spliced in.
//!
//! Serialising a stanza costs about 4 µs; a copy made by splicing costs a
//! memcpy (PERF.md §2, §5). So the reflected message is rendered without a
//! `to` once, and each copy is the bytes before the first attribute, the
//! recipient's ` to='…'`, and the rest.

use bytes::{BufMut, Bytes, BytesMut};
use minidom::Element;

use crate::component::escape_attr;

/// A stanza rendered once, ready to be addressed many times.
#[derive(Debug, Clone)]
pub struct Template {
    rendered: String,
    /// Where ` to='…'` goes: right after the element name.
    split: usize,
}

impl Template {
    /// Renders `stanza`, which must have no `to` attribute.
    pub fn new(stanza: &Element) -> Self {
        let rendered = String::from(stanza);
        let split = 1 + stanza.name().len();
        Self { rendered, split }
    }

    /// The copy addressed to `to`.
    ///
    /// One allocation of the exact size and three copies; `to` is escaped
    /// as [`escape_attr`] would, without building an escaped `String` when
    /// it needs no escaping (JIDs almost never do).
    pub fn addressed(&self, to: &str) -> Bytes {
        let mut b = BytesMut::with_capacity(self.len_for(to));
        self.put_addressed(&mut b, to);
        b.freeze()
    }

    /// The copies addressed to each of `to`, in order: the same bytes as
    /// [`Template::addressed`] gives for each, carved out of one buffer, so a
    /// fan-out of N copies makes one allocation instead of N (each copy holds
    /// a reference to the buffer, which is freed with the last copy).
    pub fn addressed_all(&self, to: &[&str]) -> Vec<Bytes> {
        let mut b = BytesMut::with_capacity(to.iter().map(|t| self.len_for(t)).sum());
        to.iter()
            .map(|t| {
                self.put_addressed(&mut b, t);
                b.split().freeze()
            })
            .collect()
    }

    /// The length of the copy addressed to `to`.
    fn len_for(&self, to: &str) -> usize {
        // Each escaped character grows by at most 5 bytes (`'` → `&apos;`).
        let grow: usize = to.bytes().filter_map(escape_growth).sum();
        self.rendered.len() + to.len() + grow + b" to=''".len()
    }

    fn put_addressed(&self, b: &mut BytesMut, to: &str) {
        let (head, tail) = self.rendered.as_bytes().split_at(self.split);
        b.put_slice(head);
        b.put_slice(b" to='");
        if to.bytes().any(|c| escape_growth(c).is_some()) {
            b.put_slice(escape_attr(to).as_bytes());
        } else {
            b.put_slice(to.as_bytes());
        }
        b.put_u8(b'\'');
        b.put_slice(tail);
    }
}

/// How many bytes [`escape_attr`] adds for `c`, if it escapes it. It only
/// escapes ASCII characters, so looking at bytes finds exactly those.
fn escape_growth(c: u8) -> Option<usize> {
    match c {
        b'&' => Some("&amp;".len() - 1),
        b'<' => Some("&lt;".len() - 1),
        b'\'' => Some("&apos;".len() - 1),
        b'"' => Some("&quot;".len() - 1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_the_recipient_and_stays_well_formed() {
        let msg: Element = "<message xmlns='jabber:component:accept' from='c@mix.localhost/1' type='groupchat'><body>a &amp; b</body></message>"
            .parse()
            .expect("xml");
        let t = Template::new(&msg);
        let copy = t.addressed("bob@localhost/ph'one");
        let parsed: Element = std::str::from_utf8(&copy)
            .expect("utf-8")
            .parse()
            .expect("well-formed copy");
        assert_eq!(parsed.attr("to"), Some("bob@localhost/ph'one"));
        assert_eq!(
            &copy[..],
            format!(
                "<message to='{}'{}",
                escape_attr("bob@localhost/ph'one"),
                &t.rendered["<message".len()..]
            )
            .as_bytes()
        );
        let odd = "a&b<c\"d@localhost/'";
        assert_eq!(t.addressed(odd).len(), t.len_for(odd));
        assert_eq!(
            t.addressed_all(&["bob@localhost/ph'one", odd, "x@y/z"]),
            [
                t.addressed("bob@localhost/ph'one"),
                t.addressed(odd),
                t.addressed("x@y/z")
            ]
        );
        let plain = t.addressed("bob@localhost/phone");
        assert_eq!(
            &plain[..],
            format!(
                "<message to='bob@localhost/phone'{}",
                &t.rendered["<message".len()..]
            )
            .as_bytes()
        );
        assert_eq!(
            parsed
                .get_child("body", "jabber:component:accept")
                .map(Element::text)
                .as_deref(),
            Some("a & b")
        );
    }
}
