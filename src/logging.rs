//! The log filter. Raw stanzas carry invitation tokens, so they must never
//! reach the log by accident: tokio-xmpp logs every raw stanza at trace
//! through `log`, and our own writer can trace what it sends. Both are
//! capped here unless the admin sets `[log] xml_trace = true`, whatever
//! level `RUST_LOG` or `[log] level` asks for (DESIGN.md §3).

use crate::component::XML_TRACE_TARGET;

/// Targets that can carry raw XML.
const RAW_XML_TARGETS: [&str; 2] = ["tokio_xmpp", XML_TRACE_TARGET];

/// Builds the filter directives from the configured level (or `RUST_LOG`,
/// which replaces it when set) and the `xml_trace` switch.
pub fn filter_directives(level: &str, rust_log: Option<&str>, xml_trace: bool) -> String {
    let base = rust_log
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(level);
    let mut parts: Vec<String> = base
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter(|d| !RAW_XML_TARGETS.iter().any(|t| d.starts_with(t)))
        .map(str::to_owned)
        .collect();
    if xml_trace {
        parts.push("tokio_xmpp=trace".into());
        parts.push(format!("{XML_TRACE_TARGET}=trace"));
    } else {
        parts.push("tokio_xmpp=debug".into());
        parts.push(format!("{XML_TRACE_TARGET}=off"));
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_raw_xml_unless_asked() {
        let f = filter_directives("trace", None, false);
        assert_eq!(f, "trace,tokio_xmpp=debug,mixgate::xml=off");
        let f = filter_directives(
            "info",
            Some("debug,tokio_xmpp=trace,mixgate::xml=trace"),
            false,
        );
        assert_eq!(f, "debug,tokio_xmpp=debug,mixgate::xml=off");
        let f = filter_directives("info", None, true);
        assert_eq!(f, "info,tokio_xmpp=trace,mixgate::xml=trace");
        assert_eq!(
            filter_directives("warn", Some("  "), false),
            "warn,tokio_xmpp=debug,mixgate::xml=off"
        );
    }
}
