//! The demo's temporary directory: Prosody's config, data and logs, and
//! mixgate's config and store. Removed when the demo ends, however it ends.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rand::distributions::{Alphanumeric, DistString};

/// A directory we created and will remove.
#[derive(Debug)]
pub(crate) struct Workdir {
    path: PathBuf,
    removed: bool,
}

impl Workdir {
    /// Creates `mixgate-demo-XXXXXXXX` in the system temp dir, readable
    /// only by us: it holds the component secret and the demo passwords.
    /// `create` (not `create_all`) fails if the name exists, so we never
    /// adopt someone else's directory.
    pub(crate) fn create() -> io::Result<Self> {
        let base = std::env::temp_dir();
        let mut last = None;
        for _ in 0..16 {
            let tag = Alphanumeric.sample_string(&mut rand::thread_rng(), 8);
            let path = base.join(format!("mixgate-demo-{tag}"));
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    return Ok(Self {
                        path,
                        removed: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temp dir name")))
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory and everything in it.
    pub(crate) fn remove(mut self) -> io::Result<()> {
        self.removed = true;
        fs::remove_dir_all(&self.path)
    }
}

impl Drop for Workdir {
    /// A backstop for early returns and panics; the normal path calls
    /// [`Workdir::remove`] and reports its error.
    fn drop(&mut self) {
        if !self.removed {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_and_removed() {
        let dir = Workdir::create().expect("create");
        let path = dir.path().to_owned();
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        fs::write(path.join("f"), "x").expect("write");
        dir.remove().expect("remove");
        assert!(!path.exists());

        let dropped = Workdir::create().expect("create");
        let path = dropped.path().to_owned();
        drop(dropped);
        assert!(!path.exists());
    }
}
