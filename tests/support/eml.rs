//! A received message (`.eml`) as Python's email package reads it: the
//! independent reader the mail tests hold flowc's output against.

use std::path::Path;

/// Its headers (name, value, in order), its content type and each leaf
/// part as `[content type, charset, decoded content]`.
pub fn parse(eml: &Path) -> serde_json::Value {
    let script = r#"
import json, sys
from email import message_from_bytes, policy
m = message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
parts = [[p.get_content_type(), p.get_content_charset(), p.get_content()]
         for p in m.walk() if not p.is_multipart()]
print(json.dumps({'type': m.get_content_type(),
                  'headers': [[k, str(v)] for k, v in m.items()],
                  'parts': parts}))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(eml)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}
