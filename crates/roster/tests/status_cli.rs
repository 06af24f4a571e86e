//! `roster status` as a user runs it: the Okta and Confluence Cloud simulators as separate
//! processes, the example company provisioned into Confluence last week, today's HR export
//! imported (planned, not applied). Those who left since are terminated in HR and still
//! active in Okta and Confluence: active leavers; accounts of nobody are orphaned.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use roster_examples::Expected;
use serde_json::Value;

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

fn roster() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_remove("ROSTER_CONFIG")
        .env_remove("ROSTER_DATABASE")
        .env_remove("ROSTER_POLICY");
    cmd
}

#[track_caller]
fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Sim {
    child: Child,
    info: Value,
}

impl Sim {
    fn start(args: &[&str]) -> Sim {
        let mut child = roster()
            .arg("sim")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let info = serde_json::from_str(&first).unwrap();
        Sim { child, info }
    }

    fn s(&self, key: &str) -> String {
        self.info[key].as_str().unwrap().to_string()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn terminated_in_hr_active_in_okta_and_confluence_is_an_active_leaver() {
    let e =
        Expected::parse(&std::fs::read_to_string(acme().join("expected.toml")).unwrap()).unwrap();
    let okta = Sim::start(&["okta", "--page-size", "50"]);
    let mut cloud_args = vec!["confluence-cloud".to_string()];
    let policy_text = std::fs::read_to_string(acme().join("policy.toml")).unwrap();
    for line in policy_text.lines() {
        if let Some(key) = line.strip_prefix("key = \"") {
            cloud_args.push("--space".into());
            cloud_args.push(key.trim_end_matches('"').to_string());
        }
    }
    let cloud_args: Vec<&str> = cloud_args.iter().map(String::as_str).collect();
    let cloud = Sim::start(&cloud_args);

    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"database = "sqlite://roster.db"
policy = "{policy}"

[sources.hr]
kind = "csv"
path = "{hr}"

[systems."acme.atlassian.net"]
kind = "confluence_cloud"
site_url = "{site}"
scim_base_url = "{scim}"
email = "{email}"
api_token_env = "TEST_ATLASSIAN_TOKEN"
scim_key_env = "TEST_ATLASSIAN_SCIM_KEY"

[directories.okta]
kind = "okta"
base_url = "{okta}"
token_env = "TEST_OKTA_TOKEN"
"#,
        policy = acme().join("policy.toml").display(),
        hr = acme().join("hr.csv").display(),
        site = cloud.s("site_url"),
        scim = cloud.s("scim_base_url"),
        email = cloud.s("email"),
        okta = okta.s("base_url"),
    );
    std::fs::write(dir.path().join("roster.toml"), config).unwrap();
    let run = |args: &[&str]| {
        roster()
            .current_dir(dir.path())
            .arg("--config")
            .arg(dir.path().join("roster.toml"))
            .env("TEST_ATLASSIAN_TOKEN", cloud.s("api_token"))
            .env("TEST_ATLASSIAN_SCIM_KEY", cloud.s("scim_key"))
            .env("TEST_OKTA_TOKEN", okta.s("token"))
            .args(args)
            .output()
            .unwrap()
    };
    let previous = e.previous_as_of.to_string();
    let hr_previous = acme().join("hr-previous.csv");
    ok(run(&[
        "apply",
        "--at",
        &previous,
        "--hr",
        hr_previous.to_str().unwrap(),
    ]));
    // Today's export is imported (and planned); nobody has applied it yet.
    let today = e.as_of.to_string();
    ok(run(&["plan", "--at", &today]));

    let out = ok(run(&["status", "--at", &today, "--json"]));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let of = |category: &str, system: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["category"] == category && f["system"] == system)
            .map(|f| {
                f["employee_id"]
                    .as_str()
                    .or(f["account"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let terminated_in_hr = ["E00025", "E00205", "E00212"];
    for id in terminated_in_hr {
        assert!(e.leavers.iter().any(|l| l == id));
        for system in ["okta", "acme.atlassian.net"] {
            assert!(
                of("active_leaver", system).iter().any(|f| f == id),
                "{id} is an active leaver in {system}: {:?}",
                of("active_leaver", system)
            );
        }
        let person = report["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["employee_id"] == id)
            .unwrap();
        assert_eq!(person["hr_status"], "terminated");
        let active_in: Vec<&str> = person["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["active"] == true)
            .map(|a| a["system"].as_str().unwrap())
            .collect();
        assert_eq!(active_in, ["okta", "acme.atlassian.net"], "{id}");
    }
    // Only leavers: someone staying is never called one.
    for f in of("active_leaver", "okta") {
        assert!(e.leavers.contains(&f), "{f} is not a leaver");
    }
    let orphans = of("orphaned_account", "okta");
    assert!(
        orphans.iter().any(|a| a == "old.admin@acme.example"),
        "{orphans:?}"
    );

    // The table, filtered to one category, names the same people.
    let out = ok(run(&[
        "status",
        "--at",
        &today,
        "--category",
        "active-leaver",
    ]));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("Status: "), "{table}");
    assert!(table.contains("ACTIVE LEAVER"), "{table}");
    for id in terminated_in_hr {
        assert!(table.contains(id), "{table}");
    }
    assert!(!table.contains("ORPHANED"), "{table}");

    let out = run(&["status", "--category", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown category \"nonsense\""));
}
