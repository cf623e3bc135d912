//! The server snippets in the README must be the very files the test
//! harness configures Prosody and ejabberd from, so the docs cannot rot.

use std::path::Path;

#[test]
fn readme_snippets_match_the_contrib_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut seen = 0;
    for part in readme.split("<!-- snippet: ").skip(1) {
        let (path, rest) = part.split_once(" -->\n").expect("marker ends with ' -->'");
        let (block, _) = rest
            .split_once("<!-- /snippet -->")
            .expect("closing marker");
        let file =
            std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let body = block
            .split_once('\n')
            .and_then(|(_fence, b)| b.strip_suffix("```\n"))
            .expect("a fenced block between the markers");
        assert_eq!(
            body, file,
            "README's copy of {path} is stale: run scripts/sync-readme-snippets.py"
        );
        seen += 1;
    }
    assert!(
        seen >= 2,
        "the README shows the Prosody and ejabberd snippets"
    );
}
