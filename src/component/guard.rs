//! A byte-level guard between the socket and the XML parser, so that no
//! stanza can end the link.
//!
//! tokio-xmpp's parser (rxml, with its default options, which tokio-xmpp
//! gives us no way to change) refuses any element name, attribute name or
//! attribute value of 8 KiB or more, and treats that as a broken stream. A
//! server forwards such a stanza from any user on the network, so without
//! this guard one presence with a 9,000-byte attribute would drop the link
//! until we reconnect, as often as someone cares to send it. It also builds
//! every stanza as a whole tree in memory, with no size limit, and dropping a
//! deeply nested tree recurses.
//!
//! The guard tokenises the stream just enough to see stanza boundaries, the
//! length of every name and attribute value, the nesting depth and the
//! stanza's size. A stanza within every limit passes byte for byte. One that
//! breaks a limit is replaced by a stub with the same element name and the
//! same `from`, `to`, `id`, `type` and `xmlns` attributes, carrying one
//! `<refused xmlns='urn:mixgate:guard:0' reason='…'/>` child; the link answers
//! it with `policy-violation` ([`refusal_for`]), so the sender learns why.
//! At most `max_stanza` bytes of a stanza are ever held.
//!
//! The guard trusts the server for well-formedness: both servers re-serialise
//! everything they route. It does not check that end tags match, which the
//! parser still does.

use minidom::Element;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

use crate::reply::Refusal;

/// Namespace of the marker child of a stub.
pub const NS_GUARD: &str = "urn:mixgate:guard:0";

/// The longest name or attribute value passed on, in raw bytes. rxml refuses
/// 8192 bytes *after* decoding entities; the raw form is never shorter, so
/// staying below in raw bytes is safe. No legitimate XMPP attribute comes
/// close: a JID is at most 3,071 bytes.
pub const MAX_TOKEN: usize = 8000;

/// The deepest nesting inside a stanza passed on. Real stanzas nest a dozen
/// levels at most (a forwarded, signed, encrypted message); the limit keeps
/// the parse and the drop of a tree far from any stack limit.
pub const MAX_DEPTH: usize = 64;

/// How much of the stanza's element name is kept: one byte more than the
/// longest stanza name, so a longer name never matches one.
const NAME_PREFIX: usize = 9;

/// Attributes a stub keeps, so the refusal can be addressed.
const KEPT: [&[u8]; 5] = [b"from", b"to", b"id", b"type", b"xmlns"];

/// Which limit a stanza broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// More than `max_stanza` bytes.
    TooLarge,
    /// A name or attribute value longer than [`MAX_TOKEN`].
    TokenTooLong,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A comment, processing instruction or DTD, which XMPP forbids
    /// (RFC 6120 §11.1) and the parser refuses.
    Restricted,
}

impl Breach {
    /// In the order a stub reports them when several apply.
    const ALL: [Self; 4] = [
        Self::TooLarge,
        Self::TokenTooLong,
        Self::TooDeep,
        Self::Restricted,
    ];

    fn bit(self) -> u8 {
        match self {
            Self::TooLarge => 1,
            Self::TokenTooLong => 2,
            Self::TooDeep => 4,
            Self::Restricted => 8,
        }
    }

    fn first(bits: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|b| bits & b.bit() != 0)
    }

    fn reason(self) -> &'static str {
        match self {
            Self::TooLarge => "too-large",
            Self::TokenTooLong => "token-too-long",
            Self::TooDeep => "too-deep",
            Self::Restricted => "restricted-xml",
        }
    }
}

/// Where the tokeniser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Character data (or nothing) between tags.
    Text,
    /// Just after `<`.
    Lt,
    /// In a start tag's element name.
    StartName,
    /// In an end tag (`</name>`), up to `>`.
    EndName,
    /// In an entity or character reference in text, up to `;`.
    Ref,
    /// In a start tag, between attributes.
    InTag,
    /// In an attribute name.
    AttrName,
    /// After an attribute name, before `=`.
    AfterAttrName,
    /// After `=`, before the opening quote.
    BeforeValue,
    /// In an attribute value delimited by this quote.
    Value(u8),
    /// After `/` in a start tag, before `>`.
    SelfClose,
    /// In `<?…?>`; `true` after a `?`.
    Pi(bool),
    /// In `<!…`: how many bytes of `[CDATA[` matched so far.
    Bang(usize),
    /// After `<!-`.
    BangDash,
    /// In a comment; how many `-` just passed.
    Comment(u8),
    /// In a CDATA section; how many `]` just passed.
    CData(u8),
    /// In some other `<!…>` declaration.
    Decl,
}

/// The top-level start tag of the current stanza, as much as a stub needs.
#[derive(Debug, Default)]
struct Head {
    /// The element name's first bytes: enough to tell whether it is one
    /// of the three stanzas.
    name: Vec<u8>,
    /// Kept attributes: name, quote, raw value.
    attrs: Vec<(usize, u8, Vec<u8>)>,
    /// The kept attribute being read, if any.
    current: Option<usize>,
    value: Vec<u8>,
    /// Still in the stanza's own start tag.
    open: bool,
}

/// The streaming guard. Feed it raw bytes; it appends what the parser may
/// see to the output.
#[derive(Debug)]
pub struct Guard {
    max_stanza: usize,
    state: State,
    /// Open elements, counting the stream header.
    depth: usize,
    /// Length of the name or value being read.
    token: usize,
    /// The name of the attribute being read, while short enough to be kept.
    attr_name: Vec<u8>,
    /// A stanza is being held back.
    in_stanza: bool,
    stanza: Vec<u8>,
    /// Every limit the current stanza broke, as bits of [`Breach::bit`]:
    /// all of them are tracked, so the reported one does not depend on
    /// where reads happened to split the stanza.
    breaches: u8,
    /// Bytes of the current stanza so far, held or not.
    stanza_len: usize,
    head: Head,
    refused: u64,
}

impl Guard {
    /// A guard holding back at most `max_stanza` bytes of one stanza.
    pub fn new(max_stanza: usize) -> Self {
        Self {
            max_stanza,
            state: State::Text,
            depth: 0,
            token: 0,
            attr_name: Vec::new(),
            in_stanza: false,
            stanza: Vec::new(),
            breaches: 0,
            stanza_len: 0,
            head: Head::default(),
            refused: 0,
        }
    }

    /// How many stanzas were replaced by a stub or dropped so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Processes `input`, appending to `out` the bytes the parser may see:
    /// everything outside stanzas at once, each stanza when it is complete.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < input.len() {
            // Fast paths: runs of text and attribute values are most of a
            // stanza's bytes and need no per-byte state change.
            match self.state {
                State::Text => {
                    let run = input[i..]
                        .iter()
                        .position(|&b| b == b'<' || b == b'&')
                        .unwrap_or(input.len() - i);
                    self.emit(&input[i..i + run], out);
                    i += run;
                    if i == input.len() {
                        break;
                    }
                }
                State::Value(q) => {
                    let run = input[i..]
                        .iter()
                        .position(|&b| b == q)
                        .unwrap_or(input.len() - i);
                    self.value_bytes(&input[i..i + run]);
                    self.emit(&input[i..i + run], out);
                    i += run;
                    if i == input.len() {
                        break;
                    }
                }
                _ => {}
            }
            self.byte(input[i], out);
            i += 1;
        }
    }

    /// One byte in any state but a text run.
    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        match self.state {
            State::Text => match b {
                // The `<` is emitted once we know whether it opens a stanza.
                b'<' => self.state = State::Lt,
                b'&' => {
                    self.emit(&[b], out);
                    self.token = 1;
                    self.state = State::Ref;
                }
                _ => self.emit(&[b], out),
            },
            // The parser limits references like names; a server never
            // writes a long one, but the guard must not depend on that.
            State::Ref => match b {
                b'<' => self.state = State::Lt,
                b';' => {
                    self.emit(&[b], out);
                    self.state = State::Text;
                }
                _ => {
                    self.token_byte();
                    self.emit(&[b], out);
                }
            },
            State::Lt => self.after_lt(b, out),
            State::StartName => {
                if is_space(b) || b == b'/' || b == b'>' {
                    self.state = State::InTag;
                    self.in_tag(b, out);
                } else {
                    self.token_byte();
                    if self.head.open && self.head.name.len() < NAME_PREFIX {
                        self.head.name.push(b);
                    }
                    self.emit(&[b], out);
                }
            }
            State::EndName => {
                if b == b'>' {
                    self.emit(&[b], out);
                    self.close_element(out);
                    self.state = State::Text;
                } else {
                    self.token_byte();
                    self.emit(&[b], out);
                }
            }
            State::InTag => self.in_tag(b, out),
            State::AttrName => {
                if b == b'=' || is_space(b) {
                    self.state = if b == b'=' {
                        State::BeforeValue
                    } else {
                        State::AfterAttrName
                    };
                    self.begin_value_name();
                } else {
                    self.token_byte();
                    // Nine bytes are enough to tell that a name is none of
                    // the kept ones.
                    if self.attr_name.len() < 9 {
                        self.attr_name.push(b);
                    }
                }
                self.emit(&[b], out);
            }
            State::AfterAttrName => {
                if b == b'=' {
                    self.state = State::BeforeValue;
                }
                self.emit(&[b], out);
            }
            State::BeforeValue => {
                if b == b'\'' || b == b'"' {
                    self.token = 0;
                    self.head.value.clear();
                    self.state = State::Value(b);
                }
                self.emit(&[b], out);
            }
            State::Value(q) => {
                debug_assert_eq!(b, q);
                self.end_value(q);
                self.state = State::InTag;
                self.emit(&[b], out);
            }
            State::SelfClose => {
                self.emit(&[b], out);
                if b == b'>' {
                    self.end_start_tag(true, out);
                } else {
                    self.state = State::InTag;
                }
            }
            State::Pi(q) => {
                self.emit(&[b], out);
                self.state = match (q, b) {
                    (true, b'>') => State::Text,
                    (_, b'?') => State::Pi(true),
                    _ => State::Pi(false),
                };
            }
            State::Bang(n) => {
                self.emit(&[b], out);
                self.state = bang(n, b);
                self.restricted_if_not_cdata();
            }
            State::BangDash => {
                self.emit(&[b], out);
                self.state = if b == b'-' {
                    State::Comment(0)
                } else {
                    State::Decl
                };
                self.restricted_if_not_cdata();
            }
            State::Comment(dashes) => {
                self.emit(&[b], out);
                self.state = match (dashes, b) {
                    (d, b'>') if d >= 2 => State::Text,
                    (d, b'-') => State::Comment(d.saturating_add(1)),
                    _ => State::Comment(0),
                };
            }
            State::CData(brackets) => {
                self.emit(&[b], out);
                self.state = match (brackets, b) {
                    (n, b'>') if n >= 2 => State::Text,
                    (n, b']') => State::CData(n.saturating_add(1)),
                    _ => State::CData(0),
                };
            }
            State::Decl => {
                self.emit(&[b], out);
                if b == b'>' {
                    self.state = State::Text;
                }
            }
        }
    }

    /// The byte after `<` decides what the tag is; a start tag at the
    /// stream's top level opens a stanza.
    fn after_lt(&mut self, b: u8, out: &mut Vec<u8>) {
        match b {
            b'/' => {
                self.emit(b"</", out);
                self.token = 0;
                self.state = State::EndName;
            }
            b'?' => {
                self.emit(b"<?", out);
                self.breach(Breach::Restricted);
                self.state = State::Pi(false);
            }
            b'!' => {
                self.emit(b"<!", out);
                self.state = State::Bang(0);
            }
            _ => {
                if self.depth == 1 && !self.in_stanza {
                    self.begin_stanza();
                }
                self.emit(b"<", out);
                self.emit(&[b], out);
                self.token = 1;
                if self.head.open {
                    self.head.name.push(b);
                }
                self.state = State::StartName;
            }
        }
    }

    fn in_tag(&mut self, b: u8, out: &mut Vec<u8>) {
        self.emit(&[b], out);
        match b {
            b'>' => self.end_start_tag(false, out),
            b'/' => self.state = State::SelfClose,
            b if is_space(b) => {}
            b => {
                self.token = 1;
                self.attr_name.clear();
                self.attr_name.push(b);
                self.state = State::AttrName;
            }
        }
    }

    fn begin_stanza(&mut self) {
        self.in_stanza = true;
        self.stanza.clear();
        self.breaches = 0;
        self.stanza_len = 0;
        self.head = Head {
            open: true,
            ..Head::default()
        };
    }

    /// The attribute name is complete: remember whether its value is kept.
    fn begin_value_name(&mut self) {
        self.head.current = if self.head.open {
            KEPT.iter().position(|k| *k == self.attr_name.as_slice())
        } else {
            None
        };
    }

    fn value_bytes(&mut self, run: &[u8]) {
        self.token += run.len();
        if self.token > MAX_TOKEN {
            self.breach(Breach::TokenTooLong);
        }
        if self.head.current.is_some() && self.head.value.len() + run.len() <= MAX_TOKEN {
            self.head.value.extend_from_slice(run);
        }
    }

    fn end_value(&mut self, quote: u8) {
        if let Some(k) = self.head.current.take() {
            if self.token <= MAX_TOKEN && !self.head.attrs.iter().any(|(a, _, _)| *a == k) {
                let value = std::mem::take(&mut self.head.value);
                self.head.attrs.push((k, quote, value));
            }
        }
    }

    fn end_start_tag(&mut self, self_closing: bool, out: &mut Vec<u8>) {
        self.state = State::Text;
        self.head.open = false;
        if self_closing {
            if self.in_stanza && self.depth == 1 {
                self.finish_stanza(out);
            }
        } else {
            self.depth += 1;
            if self.in_stanza && self.depth > MAX_DEPTH + 1 {
                self.breach(Breach::TooDeep);
            }
        }
    }

    fn close_element(&mut self, out: &mut Vec<u8>) {
        self.depth = self.depth.saturating_sub(1);
        if self.in_stanza && self.depth == 1 {
            self.finish_stanza(out);
        }
    }

    /// Passes the stanza on, or its stub.
    fn finish_stanza(&mut self, out: &mut Vec<u8>) {
        self.in_stanza = false;
        match Breach::first(self.breaches) {
            None => out.extend_from_slice(&self.stanza),
            Some(breach) => {
                self.refused += 1;
                self.stub(breach, out);
            }
        }
        // Keep the buffer's capacity for the next stanza unless one huge
        // stanza grew it far past the usual.
        self.stanza.clear();
        if self.stanza.capacity() > 64 * 1024 {
            self.stanza.shrink_to(64 * 1024);
        }
    }

    /// The stub of a refused stanza. Only `iq`, `message` and `presence`
    /// can be answered; anything else is dropped.
    fn stub(&self, breach: Breach, out: &mut Vec<u8>) {
        let name = self.head.name.as_slice();
        if !matches!(name, b"iq" | b"message" | b"presence") {
            return;
        }
        out.push(b'<');
        out.extend_from_slice(name);
        for (k, quote, value) in &self.head.attrs {
            out.push(b' ');
            out.extend_from_slice(KEPT[*k]);
            out.push(b'=');
            out.push(*quote);
            out.extend_from_slice(value);
            out.push(*quote);
        }
        out.extend_from_slice(b"><refused xmlns='");
        out.extend_from_slice(NS_GUARD.as_bytes());
        out.extend_from_slice(b"' reason='");
        out.extend_from_slice(breach.reason().as_bytes());
        out.extend_from_slice(b"'/></");
        out.extend_from_slice(name);
        out.push(b'>');
    }

    /// Inside a stanza, `<!` may only open a CDATA section.
    fn restricted_if_not_cdata(&mut self) {
        if matches!(self.state, State::Comment(_) | State::Decl) {
            self.breach(Breach::Restricted);
        }
    }

    fn token_byte(&mut self) {
        self.token += 1;
        if self.token > MAX_TOKEN {
            self.breach(Breach::TokenTooLong);
        }
    }

    fn breach(&mut self, breach: Breach) {
        if self.in_stanza {
            if self.breaches == 0 {
                self.stanza.clear();
            }
            self.breaches |= breach.bit();
        }
    }

    /// Bytes go to the output outside a stanza, to the held stanza inside
    /// one, and nowhere once the stanza is refused.
    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if !self.in_stanza {
            out.extend_from_slice(bytes);
            return;
        }
        self.stanza_len = self.stanza_len.saturating_add(bytes.len());
        if self.stanza_len > self.max_stanza {
            self.breach(Breach::TooLarge);
        }
        if self.breaches == 0 {
            self.stanza.extend_from_slice(bytes);
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// After `<!` and `n` matched bytes of `[CDATA[`: the start of a comment,
/// a CDATA section, or some other declaration.
fn bang(n: usize, b: u8) -> State {
    const CDATA: &[u8] = b"[CDATA[";
    match (n, b) {
        (0, b'-') => State::BangDash,
        (n, b) if CDATA.get(n) == Some(&b) => {
            if n + 1 == CDATA.len() {
                State::CData(0)
            } else {
                State::Bang(n + 1)
            }
        }
        _ => State::Decl,
    }
}

/// The refusal for a stub the guard made, if `element` is one.
pub fn refusal_for(element: &Element, max_stanza: usize) -> Option<Refusal> {
    let marker = element.get_child("refused", NS_GUARD)?;
    let text = match marker.attr("reason") {
        Some("too-large") => format!("stanza larger than {max_stanza} bytes"),
        Some("too-deep") => format!("elements nested deeper than {MAX_DEPTH} levels"),
        Some("restricted-xml") => {
            "comments, processing instructions and DTDs are not allowed in XMPP".to_owned()
        }
        _ => format!("a name or attribute value longer than {MAX_TOKEN} bytes"),
    };
    Some(Refusal::new(
        ErrorType::Modify,
        DefinedCondition::PolicyViolation,
        text,
    ))
}

#[cfg(test)]
mod tests;
