//! `roster sim`, `roster connect test` and the manual target's `roster task` commands, as a
//! user runs them: real processes, real HTTP on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;

fn roster() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_remove("ROSTER_CONFIG")
        .env_remove("ROSTER_DATABASE")
        .env_remove("ROSTER_POLICY");
    cmd
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[track_caller]
fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// A simulator process and the JSON line it printed first.
struct Sim {
    child: Child,
    info: Value,
}

impl Sim {
    fn start(kind: &str, extra: &[&str]) -> Sim {
        let mut child = roster()
            .args(["sim", kind, "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let info: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("first line is not JSON ({e}): {first}"));
        Sim { child, info }
    }

    fn s(&self, key: &str) -> String {
        self.info[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {}", self.info))
            .to_string()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn simulators_print_their_urls_and_credentials_first() {
    let cloud = Sim::start("confluence-cloud", &["--email", "ops@acme.example"]);
    for key in [
        "site_url",
        "scim_base_url",
        "admin_api_url",
        "email",
        "api_token",
        "scim_key",
        "org_key",
    ] {
        assert!(cloud.info[key].is_string(), "{key} missing: {}", cloud.info);
    }
    assert_eq!(cloud.s("email"), "ops@acme.example");
    let dc = Sim::start("confluence-dc", &["--pat", "fixed-pat"]);
    for key in ["base_url", "username", "password", "pat"] {
        assert!(dc.info[key].is_string(), "{key} missing: {}", dc.info);
    }
    assert_eq!(dc.s("pat"), "fixed-pat");

    // The HR simulators name the base URL the real client would use, and the credentials.
    let bamboo = Sim::start(
        "bamboohr",
        &["--api-key", "k1", "--webhook-url", "http://127.0.0.1:9/h"],
    );
    assert!(
        bamboo.s("base_url").ends_with("/api/gateway.php/acme"),
        "{}",
        bamboo.info
    );
    assert_eq!(bamboo.s("api_key"), "k1");
    assert_eq!(bamboo.s("webhook_private_key").len(), 32);
    let personio = Sim::start("personio", &["--client-id", "cid"]);
    for key in ["base_url", "client_id", "client_secret"] {
        assert!(
            personio.info[key].is_string(),
            "{key} missing: {}",
            personio.info
        );
    }
    assert_eq!(personio.s("client_id"), "cid");
    let bob = Sim::start("hibob", &["--service-user-id", "SU-1", "--token", "t1"]);
    assert_eq!(
        (bob.s("service_user_id"), bob.s("token")),
        ("SU-1".into(), "t1".into())
    );
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const POLICY: &str = r#"
[[roles]]
name = "payroll"
groups = ["payroll-users"]
[[rules]]
name = "finance"
when = 'department == "Finance"'
roles = ["payroll"]
"#;

const HR: &str = "employee_id,email,first_name,last_name,department,status,start_date\n\
E1,ada@acme.example,Ada,Lovelace,Finance,active,2024-01-01\n\
E2,alan@acme.example,Alan,Turing,Finance,active,2024-01-01\n";

#[test]
fn connect_test_says_what_is_wrong_with_a_cloud_connection() {
    let sim = Sim::start("confluence-cloud", &[]);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "policy.toml", POLICY);
    let hr = write(dir.path(), "hr.csv", HR);
    let config = write(
        dir.path(),
        "roster.toml",
        &format!(
            r#"database = "sqlite://roster.db"
policy = "{policy}"
[sources.hr]
kind = "csv"
path = "{hr}"
[systems.wiki]
kind = "confluence_cloud"
site_url = "{}"
scim_base_url = "{}"
admin_api_url = "{}"
org_id = "{}"
email = "{}"
api_token_env = "TEST_API_TOKEN"
scim_key_env = "TEST_SCIM_KEY"
org_key_env = "TEST_ORG_KEY"
"#,
            sim.s("site_url"),
            sim.s("scim_base_url"),
            sim.s("admin_api_url"),
            sim.s("org_id"),
            sim.s("email"),
        ),
    );
    let run = |token: &str| {
        roster()
            .args(["--config", &config, "connect", "test", "wiki"])
            .env("TEST_API_TOKEN", token)
            .env("TEST_SCIM_KEY", sim.s("scim_key"))
            .env("TEST_ORG_KEY", sim.s("org_key"))
            .output()
            .unwrap()
    };
    let good = ok(run(&sim.s("api_token")));
    let stdout = text(&good.stdout);
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("read wiki"), "{stdout}");

    let bad = run("not-the-token");
    assert_eq!(bad.status.code(), Some(1));
    let stdout = text(&bad.stdout);
    assert!(
        stdout.contains("FAIL") && stdout.contains("API token rejected"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("not-the-token"),
        "a secret was printed: {stdout}"
    );

    // A missing secret is named by its variable, before any request.
    let missing = roster()
        .args(["--config", &config, "connect", "test", "wiki"])
        .env_remove("TEST_API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("TEST_API_TOKEN"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn connect_test_checks_a_data_center_connection() {
    let sim = Sim::start("confluence-dc", &[]);
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "policy.toml", POLICY);
    let hr = write(dir.path(), "hr.csv", HR);
    let config = write(
        dir.path(),
        "roster.toml",
        &format!(
            r#"database = "sqlite://roster.db"
policy = "{policy}"
[sources.hr]
kind = "csv"
path = "{hr}"
[systems.wiki]
kind = "confluence_dc"
base_url = "{}"
pat_env = "TEST_PAT"
"#,
            sim.s("base_url"),
        ),
    );
    let run = |pat: &str| {
        roster()
            .current_dir(dir.path())
            .args(["--config", &config, "connect", "test", "wiki"])
            .env("TEST_PAT", pat)
            .output()
            .unwrap()
    };
    let good = ok(run(&sim.s("pat")));
    let stdout = text(&good.stdout);
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(
        stdout.contains("Administrator rights") && stdout.contains("read wiki"),
        "{stdout}"
    );

    let bad = run("not-the-pat");
    assert_eq!(bad.status.code(), Some(1));
    let stdout = text(&bad.stdout);
    assert!(
        stdout.contains("FAIL")
            && stdout.contains("personal access token rejected: check TEST_PAT"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("not-the-pat"),
        "a secret was printed: {stdout}"
    );
}

/// A webhook receiver: records the JSON bodies it is sent.
fn webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/roster", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            if let Ok(v) = serde_json::from_slice(&body) {
                seen.lock().unwrap().push(v);
            }
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
        }
    });
    (url, bodies)
}

#[test]
fn manual_steps_become_tasks_that_people_complete() {
    let (hook, bodies) = webhook();
    let dir = tempfile::tempdir().unwrap();
    let policy = write(dir.path(), "policy.toml", POLICY);
    let hr = write(dir.path(), "hr.csv", HR);
    let config = write(
        dir.path(),
        "roster.toml",
        &format!(
            r#"database = "sqlite://roster.db"
policy = "{policy}"
[sources.hr]
kind = "csv"
path = "{hr}"
[systems.payroll]
kind = "manual"
webhook_url = "{hook}"
"#
        ),
    );
    let run = |args: &[&str]| {
        roster()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };

    let applied = ok(run(&["apply"]));
    let stdout = text(&applied.stdout);
    assert!(stdout.contains("wait for a person"), "{stdout}");
    // One group, two accounts, two memberships: five tasks, each announced once.
    let listed = ok(run(&["task", "list", "--json"]));
    let tasks: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(tasks.len(), 5, "{tasks:#?}");
    assert_eq!(bodies.lock().unwrap().len(), 5);
    assert!(
        bodies.lock().unwrap()[0]["complete_with"]
            .as_str()
            .unwrap()
            .starts_with("roster task done")
    );
    // Applying again while nobody has acted opens nothing new.
    ok(run(&["apply"]));
    assert_eq!(bodies.lock().unwrap().len(), 5);

    for t in &tasks {
        let id = t["id"].to_string();
        ok(run(&["task", "done", &id, "--by", "alice@acme.example"]));
    }
    let again = run(&[
        "task",
        "done",
        &tasks[0]["id"].to_string(),
        "--by",
        "bob@acme.example",
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already done"),
        "{}",
        text(&again.stderr)
    );

    let finished = ok(run(&["apply"]));
    let stdout = text(&finished.stdout);
    assert!(stdout.contains("5 already in place"), "{stdout}");
    assert!(!stdout.contains("wait for a person"), "{stdout}");

    let export = ok(run(&["audit", "export", "--format", "jsonl"]));
    let events: Vec<Value> = text(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let by_alice = events
        .iter()
        .filter(|e| e["action"] == "manual task done" && e["actor"] == "alice@acme.example")
        .count();
    assert_eq!(by_alice, 5);
    ok(run(&["audit", "verify"]));
}
