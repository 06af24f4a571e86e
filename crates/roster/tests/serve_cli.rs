//! `roster serve` and `roster scim log` as an operator runs them: a real process, an IdP's
//! requests over loopback, people flowing through plan → apply into a (memory) system, a
//! graceful SIGTERM, and the request log read back from the database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn roster() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_remove("ROSTER_CONFIG")
        .env_remove("ROSTER_DATABASE")
        .env_remove("ROSTER_POLICY")
        .env_remove("ROSTER_SCIM_BOOTSTRAP_TOKEN")
        .env_remove("ROSTER_ADMIN_TOKEN");
    cmd
}

const POLICY: &str = r#"
[company]
name = "Test"
time_zone = "UTC"

[safety]
max_revoke_share = 1.0

[[roles]]
name = "engineering"
groups = ["eng"]
licences = ["confluence"]

[[rules]]
name = "engineers"
when = 'department == "Engineering"'
roles = ["engineering"]
"#;

/// The accounts of the memory system, by e-mail: whether each is active.
fn accounts(state: &Path) -> Vec<(String, bool)> {
    let Ok(text) = std::fs::read_to_string(state) else {
        return Vec::new();
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return Vec::new();
    };
    let mut out: Vec<(String, bool)> = v["accounts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|acc| {
                    (
                        acc["email"].as_str().unwrap_or_default().to_string(),
                        acc["active"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn engineer(name: &str, number: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": name,
        "name": {"givenName": "Test", "familyName": number},
        "emails": [{"value": name, "type": "work", "primary": true}],
        "password": "pushed-by-okta-7",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
            {"employeeNumber": number, "department": "Engineering"},
    })
}

#[test]
fn scim_pushes_flow_to_the_system_and_the_log_survives_sigterm() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
    std::fs::write(
        dir.path().join("roster.toml"),
        "database = \"sqlite://roster.db\"\npolicy = \"policy.toml\"\n\n\
         [systems.wiki]\nkind = \"memory\"\nstate_file = \"target.json\"\n",
    )
    .unwrap();
    let config = dir.path().join("roster.toml");
    let token = "cli-test-token-0123456789";
    let mut child = roster()
        .arg("--config")
        .arg(&config)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--people-sync-interval",
            "0.05",
        ])
        .env("ROSTER_SCIM_BOOTSTRAP_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in the first line: {first}"))
        .to_string();
    assert!(base.ends_with("/scim/v2"), "{first}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut r = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        runtime.block_on(async {
            let response = r.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        })
    };
    let (status, ada) = send(
        reqwest::Method::POST,
        "/Users",
        Some(engineer("ada@acme.example", "E1")),
    );
    assert_eq!(status, 201, "{ada}");
    let (status, _) = send(
        reqwest::Method::POST,
        "/Users",
        Some(engineer("bob@acme.example", "E2")),
    );
    assert_eq!(status, 201);
    let (status, _) = send(reqwest::Method::GET, "/Users?filter=userName%20eq", None);
    assert_eq!(status, 400);

    let state = dir.path().join("target.json");
    wait_for("two active accounts", || {
        accounts(&state)
            == vec![
                ("ada@acme.example".to_string(), true),
                ("bob@acme.example".to_string(), true),
            ]
    });
    // Deactivating in the IdP is the leaver path: the account is deactivated.
    let id = ada["id"].as_str().unwrap();
    let (status, _) = send(
        reqwest::Method::PATCH,
        &format!("/Users/{id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "value": {"active": false}}]}),
        ),
    );
    assert_eq!(status, 200);
    wait_for("ada deactivated", || {
        accounts(&state)
            == vec![
                ("ada@acme.example".to_string(), false),
                ("bob@acme.example".to_string(), true),
            ]
    });

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("roster serve: stopped"), "{stderr}");

    // The log was written on the way out, redacted.
    let log = roster()
        .arg("--config")
        .arg(&config)
        .args(["scim", "log", "--limit", "10"])
        .output()
        .unwrap();
    assert!(log.status.success());
    let text = String::from_utf8_lossy(&log.stdout);
    assert!(
        text.contains("bootstrap  POST /scim/v2/Users → 201"),
        "{text}"
    );
    assert!(text.contains("[redacted]"), "{text}");
    assert!(
        !text.contains("pushed-by-okta-7") && !text.contains(token),
        "{text}"
    );
    let failed = roster()
        .arg("--config")
        .arg(&config)
        .args(["scim", "log", "--failed", "--json"])
        .output()
        .unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&failed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["status"], 400);
}
