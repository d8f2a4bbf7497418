//! `flowc check --format sarif|github`: what code-scanning tools and GitHub
//! Actions read. The SARIF log is validated against the official SARIF 2.1.0
//! JSON schema (bundled in tests/sarif/) with Python's `jsonschema`,
//! installed into target/py when missing.

use std::path::PathBuf;
use std::process::Command;

const BROKEN: &str = "record contact {\n  name: text\n  prefecture: text?\n}\n\
segment s of contact where contact.nmae == \"x\"\n\
segment t of contact where contact.prefecture != \"東京都\"\n";

fn check(format: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("rules")).expect("mkdir");
    std::fs::write(dir.path().join("rules/main.flow"), BROKEN).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .args(["check", "--format", format, "rules"])
        .current_dir(dir.path())
        .output()
        .expect("flowc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn python_with_jsonschema() -> PathBuf {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/py");
    let ok = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .env("PYTHONPATH", &py)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
            ])
            .arg(&py)
            .arg("jsonschema")
            .status()
            .expect("pip");
        assert!(
            status.success(),
            "installing jsonschema into target/py failed"
        );
    }
    py
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let (code, stdout, _) = check("sarif");
    assert_eq!(code, 1);
    let log: serde_json::Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
    let results = log["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "E0101");
    assert_eq!(results[0]["level"], "error");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "rules/main.flow"
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        5
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["region"]["startColumn"],
        36
    );
    assert_eq!(results[1]["ruleId"], "W0101");
    assert_eq!(results[1]["level"], "warning");
    let schema =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sarif/sarif-schema-2.1.0.json");
    let py = python_with_jsonschema();
    let validate = "import json, sys, jsonschema\n\
                    schema = json.load(open(sys.argv[1]))\n\
                    log = json.load(sys.stdin)\n\
                    jsonschema.Draft7Validator(schema).validate(log)\n\
                    print('valid')\n";
    let mut child = Command::new("python3")
        .args(["-c", validate])
        .arg(&schema)
        .env("PYTHONPATH", &py)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdout.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("validate");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "valid",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A SARIF log that breaks the schema must fail, or the check proves nothing.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    let mut child = Command::new("python3")
        .args(["-c", validate])
        .arg(&schema)
        .env("PYTHONPATH", &py)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(broken.to_string().as_bytes())
        .expect("write");
    assert!(!child.wait_with_output().expect("validate").status.success());
}

#[test]
fn github_output_is_workflow_commands() {
    let (code, stdout, stderr) = check("github");
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("::error file=rules/main.flow,line=5,col=36,endLine=5,endColumn=40,title=flowc E0101::unknown field `nmae` on `contact`%0Ahint: did you mean `name`?"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("::warning file=rules/main.flow,line=6,"),
        "{}",
        lines[1]
    );
    assert!(stderr.contains("1 error, 1 warning"));
}
