#!/usr/bin/env python3
"""Copy each contrib/ file named by a `<!-- snippet: PATH -->` marker into README.md.

tests/readme_snippets.rs fails when the README and the files differ; this
script is how to make them agree again. The files are the source of truth,
because the test harness configures its servers from them.
"""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
readme = root / "README.md"
lang = {".lua": "lua", ".yml": "yaml", ".toml": "toml", ".service": "ini"}


def block(match):
    path = match.group(1)
    body = (root / path).read_text()
    fence = lang.get(pathlib.Path(path).suffix, "")
    return f"<!-- snippet: {path} -->\n```{fence}\n{body}```\n<!-- /snippet -->"


text = readme.read_text()
new = re.sub(r"<!-- snippet: (\S+) -->.*?<!-- /snippet -->", block, text, flags=re.S)
readme.write_text(new)
