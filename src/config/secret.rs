//! The component secret: where it comes from, and a type that never prints it.

use std::fmt;
use std::path::{Path, PathBuf};

/// A shared secret. `Debug` and `Display` are redacted so that no log line,
/// panic message or `check-config` output can leak it by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself. Call this only where the bytes are used (the
    /// handshake hash), never to format a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where the effective secret came from, for `check-config` and for the
/// permission warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `component.secret` in the file.
    Inline,
    /// `component.secret_file`.
    File(PathBuf),
    /// The `MIXGATE_COMPONENT_SECRET` environment variable.
    Env,
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline => f.write_str("component.secret"),
            Self::File(p) => write!(f, "component.secret_file {}", p.display()),
            Self::Env => f.write_str("MIXGATE_COMPONENT_SECRET"),
        }
    }
}

/// Reads a secret or key file: the whole file, surrounding whitespace trimmed
/// (editors add a trailing newline).
pub fn read_secret_file(path: &Path) -> std::io::Result<String> {
    Ok(std::fs::read_to_string(path)?.trim().to_owned())
}

/// A warning when a secret file can be read by group or others. Returned, not
/// logged, so `check-config` and `run` can both show it.
#[cfg(unix)]
pub fn permission_warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "{} is readable by group or others (mode {:o}); run: chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        )
    })
}

/// Non-unix systems have no mode bits to check.
#[cfg(not(unix))]
pub fn permission_warning(_path: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("hunter2".into());
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
