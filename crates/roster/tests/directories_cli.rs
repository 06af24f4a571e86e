//! `roster sim okta|entra|google` and `roster connect test` on a `[directories.NAME]`, as a
//! user runs them: real processes, real HTTP on loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

fn roster() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_remove("ROSTER_CONFIG")
        .env_remove("ROSTER_DATABASE")
        .env_remove("ROSTER_POLICY");
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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
fn directory_simulators_answer_connect_test() {
    let okta = Sim::start(
        "okta",
        &["--token", "fixed-okta-token", "--page-size", "40"],
    );
    assert_eq!(okta.s("token"), "fixed-okta-token");
    let entra = Sim::start("entra", &["--tenant-id", "acme-tenant"]);
    assert_eq!(entra.s("tenant_id"), "acme-tenant");
    for key in ["graph_url", "token_url", "client_id", "client_secret"] {
        entra.s(key);
    }
    let google = Sim::start("google", &[]);
    for key in [
        "base_url",
        "access_token",
        "customer",
        "domain",
        "subject",
        "service_account_key",
    ] {
        google.s(key);
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.toml"), "").unwrap();
    let config = format!(
        r#"policy = "policy.toml"
[directories.okta]
kind = "okta"
base_url = "{}"
token_env = "T_OKTA"

[directories.entra]
kind = "entra"
tenant_id = "acme-tenant"
client_id_env = "T_ENTRA_ID"
client_secret_env = "T_ENTRA_SECRET"
graph_url = "{}"
token_url = "{}"

[directories.google]
kind = "google"
base_url = "{}"
service_account_key_env = "T_GOOGLE_KEY"
subject = "{}"
"#,
        okta.s("base_url"),
        entra.s("graph_url"),
        entra.s("token_url"),
        google.s("base_url"),
        google.s("subject"),
    );
    let file = dir.path().join("roster.toml");
    std::fs::write(&file, config).unwrap();
    let connect = |name: &str, env: &[(&str, String)]| {
        let mut cmd = roster();
        cmd.arg("--config")
            .arg(&file)
            .args(["connect", "test", name]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let good = [
        ("T_OKTA", okta.s("token")),
        ("T_ENTRA_ID", entra.s("client_id")),
        ("T_ENTRA_SECRET", entra.s("client_secret")),
        ("T_GOOGLE_KEY", google.s("service_account_key")),
    ];
    for name in ["okta", "entra", "google"] {
        let out = connect(name, &good);
        assert!(out.status.success(), "{name}: {}", text(&out));
        let t = text(&out);
        assert!(!t.contains("FAIL"), "{t}");
        assert!(t.contains(&format!("read {name}: ")), "{t}");
    }
    let out = connect("okta", &[("T_OKTA", "revoked".to_string())]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Okta token rejected (401): check T_OKTA"),
        "{}",
        text(&out)
    );
    let out = connect("entra", &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("T_ENTRA_ID"), "{}", text(&out));
}
