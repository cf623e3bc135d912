use super::*;

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' from='mix.localhost' id='s1'>";
const MAX: usize = 64 * 1024;

/// The guard's output for `input` fed in one piece.
fn guarded(input: &str) -> String {
    let mut g = Guard::new(MAX);
    let mut out = Vec::new();
    g.feed(input.as_bytes(), &mut out);
    String::from_utf8(out).expect("utf-8 in, utf-8 out")
}

/// The output for `input` fed one byte at a time, which must be the same.
fn guarded_bytewise(input: &str) -> String {
    let mut g = Guard::new(MAX);
    let mut out = Vec::new();
    for b in input.as_bytes() {
        g.feed(std::slice::from_ref(b), &mut out);
    }
    String::from_utf8(out).expect("utf-8")
}

fn both(input: &str) -> String {
    let whole = guarded(input);
    same(&whole, &guarded_bytewise(input));
    whole
}

/// `assert_eq!` that shows where two long strings part, not all of them.
#[track_caller]
fn same(a: &str, b: &str) {
    if a != b {
        let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let around = |s: &str| {
            s.get(at.saturating_sub(40)..(at + 80).min(s.len()))
                .unwrap_or("")
                .to_owned()
        };
        panic!(
            "outputs differ at byte {at} (lengths {} and {}):\n  {}\n  {}",
            a.len(),
            b.len(),
            around(a),
            around(b)
        );
    }
}

fn repeat(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// Parses one stanza as the stream would see it.
fn parse(stanza: &str) -> Element {
    let wrapped = format!("<stream xmlns='jabber:component:accept'>{stanza}</stream>");
    let root: Element = wrapped.parse().expect("well-formed");
    root.children().next().expect("one stanza").clone()
}

#[test]
fn passes_a_well_formed_stream_byte_for_byte() {
    let stream = format!(
        "{HEADER}<handshake/> \n<message from='a@localhost/r' to=\"c@mix.localhost\" type='groupchat' id='m1'><body>a &lt; b &amp;&amp; c > d</body><x xmlns='urn:example' v='1/2>3'/></message>\t<presence from='a@localhost/r' to='c@mix.localhost'/><iq type='get' id='q' from='a@localhost/r' to='mix.localhost'><query xmlns='http://jabber.org/protocol/disco#info'><![CDATA[<not a tag>]]></query></iq></stream:stream>"
    );
    same(&both(&stream), &stream);
}

#[test]
fn the_longest_allowed_tokens_pass() {
    let value = repeat('v', MAX_TOKEN);
    let name = repeat('n', MAX_TOKEN);
    let stanza = format!("<presence from='a@localhost/r' to='c@mix.localhost' x='{value}'><{name} xmlns='urn:example' {name}='1'/></presence>");
    let stream = format!("{HEADER}{stanza}");
    same(&both(&stream), &stream);
}

#[test]
fn a_long_attribute_value_becomes_an_addressed_stub() {
    let value = repeat('v', MAX_TOKEN + 1);
    let stream = format!("{HEADER}<presence from='a@localhost/r' to='c@mix.localhost' id='p1' big='{value}'/><message from='b@localhost/r' to='c@mix.localhost' id='m2'/>");
    let out = both(&stream);
    let stub = "<presence from='a@localhost/r' to='c@mix.localhost' id='p1'><refused xmlns='urn:mixgate:guard:0' reason='token-too-long'/></presence>";
    same(
        &out,
        &format!("{HEADER}{stub}<message from='b@localhost/r' to='c@mix.localhost' id='m2'/>"),
    );
    let el = parse(stub);
    let refusal = refusal_for(&el, MAX).expect("a stub");
    assert_eq!(refusal.condition, DefinedCondition::PolicyViolation);
    assert_eq!(refusal.type_, ErrorType::Modify);
    assert!(refusal.text.contains("8000"), "{}", refusal.text);
}

#[test]
fn long_names_anywhere_in_the_stanza_are_refused() {
    let long = repeat('n', MAX_TOKEN + 1);
    for body in [
        format!("<{long} xmlns='urn:example'/>"),
        format!("<x xmlns='urn:example' {long}='1'/>"),
        format!(
            "<x xmlns='urn:example'><y deep='{}'/></x>",
            repeat('d', MAX_TOKEN + 1)
        ),
        format!("<x xmlns='{}'/>", repeat('u', MAX_TOKEN + 1)),
    ] {
        let stream = format!(
            "{HEADER}<iq type='set' id='q1' from='a@localhost/r' to='c@mix.localhost'>{body}</iq>"
        );
        let out = both(&stream);
        same(
            &out,
            &format!("{HEADER}<iq type='set' id='q1' from='a@localhost/r' to='c@mix.localhost'><refused xmlns='urn:mixgate:guard:0' reason='token-too-long'/></iq>"),
        );
    }
}

#[test]
fn a_stanza_over_the_size_limit_is_refused_and_the_next_passes() {
    let body = repeat('b', MAX);
    let stream = format!("{HEADER}<message type='groupchat' to='c@mix.localhost' from=\"a@localhost/it's\" id='m1'><body>{body}</body></message><message to='c@mix.localhost' from='a@localhost/r' id='m2'><body>hi</body></message>");
    let out = both(&stream);
    let stub = "<message type='groupchat' to='c@mix.localhost' from=\"a@localhost/it's\" id='m1'><refused xmlns='urn:mixgate:guard:0' reason='too-large'/></message>";
    same(
        &out,
        &format!("{HEADER}{stub}<message to='c@mix.localhost' from='a@localhost/r' id='m2'><body>hi</body></message>"),
    );
    assert_eq!(parse(stub).attr("from"), Some("a@localhost/it's"));
    let text = refusal_for(&parse(stub), MAX).expect("stub").text;
    assert_eq!(text, format!("stanza larger than {MAX} bytes"));
}

#[test]
fn long_references_in_text_are_refused() {
    let stream = format!("{HEADER}<message from='a@localhost/r' to='c@mix.localhost' id='m'><body>&#{};</body></message>", repeat('0', MAX_TOKEN + 1));
    assert!(both(&stream).ends_with("reason='token-too-long'/></message>"));
    let ok = format!("{HEADER}<message from='a@localhost/r' to='c@mix.localhost' id='m'><body>&amp;&#x10FFFF;&lt;</body></message>");
    same(&both(&ok), &ok);
}

/// Whether rxml, with the default options tokio-xmpp gives it, reads the
/// whole document.
fn stream_parser_accepts(doc: &str) -> bool {
    use minidom::rxml::{Parse, Parser};
    let mut parser = Parser::default();
    let mut buf = doc.as_bytes();
    loop {
        match parser.parse(&mut buf, true) {
            Ok(Some(_)) => {}
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

/// The premise of the guard: the stream's parser refuses such tokens, and
/// takes the longest the guard passes.
#[test]
fn the_parser_refuses_what_the_guard_stops() {
    for (over, at_limit) in [
        (
            format!("<a x='{}'/>", repeat('v', 8193)),
            format!("<a x='{}'/>", repeat('v', MAX_TOKEN)),
        ),
        (
            format!("<a {}='1'/>", repeat('n', 8193)),
            format!("<a {}='1'/>", repeat('n', MAX_TOKEN)),
        ),
    ] {
        assert!(!stream_parser_accepts(&over), "{}", &over[..20]);
        assert!(stream_parser_accepts(&at_limit), "{}", &at_limit[..20]);
    }
}

#[test]
fn nesting_is_limited() {
    let nest = |n: usize| format!("{}{}", repeat_str("<a>", n), repeat_str("</a>", n));
    let ok = format!("{HEADER}<message from='a@localhost/r' to='c@mix.localhost' id='m'><x xmlns='urn:example'>{}</x></message>", nest(MAX_DEPTH - 2));
    same(&both(&ok), &ok);
    let deep = format!("{HEADER}<message from='a@localhost/r' to='c@mix.localhost' id='m'><x xmlns='urn:example'>{}</x></message>", nest(MAX_DEPTH));
    assert!(both(&deep).ends_with("reason='too-deep'/></message>"));
}

fn repeat_str(s: &str, n: usize) -> String {
    s.repeat(n)
}

#[test]
fn refused_non_stanzas_are_dropped() {
    let stream = format!(
        "{HEADER}<db:result xmlns:db='jabber:server:dialback' x='{}'/><presence from='a@localhost/r' to='c@mix.localhost'/>",
        repeat('v', MAX_TOKEN + 1)
    );
    let out = both(&stream);
    same(
        &out,
        &format!("{HEADER}<presence from='a@localhost/r' to='c@mix.localhost'/>"),
    );
}

#[test]
fn a_stub_keeps_only_short_addressing_attributes() {
    let long_from = repeat('f', MAX_TOKEN + 1);
    let stream = format!("{HEADER}<iq from='{long_from}' to='c@mix.localhost' id='q' type='get' xmlns='jabber:component:accept' lang='en'/>");
    let out = both(&stream);
    same(
        &out,
        &format!("{HEADER}<iq to='c@mix.localhost' id='q' type='get' xmlns='jabber:component:accept'><refused xmlns='urn:mixgate:guard:0' reason='token-too-long'/></iq>"),
    );
    // With no `from`, the link cannot answer; the reply builder says so.
    let el = parse(&out[HEADER.len()..]);
    assert!(crate::reply::error_reply(&el, &refusal_for(&el, MAX).expect("stub")).is_none());
}

#[test]
fn every_split_point_gives_the_same_output() {
    let stream = format!("{HEADER}<presence from='a@localhost/r' to='c@mix.localhost' id='p1' big='{}'/><message from='b@localhost/r' to='c@mix.localhost'><body>x<![CDATA[]]>y</body></message></stream:stream>", repeat('v', MAX_TOKEN + 3));
    let whole = guarded(&stream);
    for split in 0..stream.len() {
        let mut g = Guard::new(MAX);
        let mut out = Vec::new();
        g.feed(&stream.as_bytes()[..split], &mut out);
        g.feed(&stream.as_bytes()[split..], &mut out);
        assert!(
            out == whole.as_bytes(),
            "split at {split} changed the output"
        );
        assert_eq!(g.refused(), 1);
    }
}

#[test]
fn comments_and_processing_instructions_in_stanzas_are_refused() {
    for inner in ["<!-- hi -->", "<?php x ?>", "<!DOCTYPE x>"] {
        let stream = format!("{HEADER}<message from='a@localhost/r' to='c@mix.localhost' id='m'><body>a</body>{inner}</message><presence from='a@localhost/r' to='c@mix.localhost'/>");
        same(
            &both(&stream),
            &format!("{HEADER}<message from='a@localhost/r' to='c@mix.localhost' id='m'><refused xmlns='urn:mixgate:guard:0' reason='restricted-xml'/></message><presence from='a@localhost/r' to='c@mix.localhost'/>"),
        );
    }
    // Between stanzas they are the server's, and pass.
    let stream =
        format!("{HEADER}<!-- keepalive --><presence from='a@localhost/r' to='c@mix.localhost'/>");
    same(&both(&stream), &stream);
}

#[test]
fn an_ordinary_element_is_not_a_stub() {
    assert!(refusal_for(
        &parse("<message from='a@localhost' to='b@localhost'/>"),
        MAX
    )
    .is_none());
}
