//! HR → Confluence as a user runs it, on simulators: the BambooHR and Confluence Cloud
//! simulators in this process, `roster sync --once` and `roster serve` as real processes.
//!
//! - A termination in BambooHR, delivered by its signed webhook to `roster serve`, deactivates
//!   the person in Confluence (no poll: the interval is an hour).
//! - A BambooHR feed that suddenly lists 5 % of the people halts the sync with a clear
//!   message: nothing is imported, nothing revoked.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

struct Sims {
    bamboo: roster_sim::Running,
    cloud: roster_sim::Running,
    dir: tempfile::TempDir,
}

impl Sims {
    async fn start(webhook_url: Option<String>) -> Sims {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bamboo = roster_sim::bamboohr::start(
            listener,
            roster_sim::bamboohr::BambooHrOptions {
                webhook_url,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let policy = roster_core::Policy::parse(
            &std::fs::read_to_string(acme().join("policy.toml")).unwrap(),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cloud = roster_sim::cloud::start(
            listener,
            roster_sim::cloud::CloudOptions {
                spaces: policy
                    .spaces
                    .iter()
                    .map(|k| (k.clone(), k.clone()))
                    .collect(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let s = |r: &roster_sim::Running, k: &str| r.info[k].as_str().unwrap().to_string();
        let config = format!(
            r#"database = "sqlite://roster.db"
policy = "{policy}"

[sources.bamboo]
kind = "bamboohr"
base_url = "{bamboo}"
api_key_env = "TEST_BAMBOO_KEY"
{hook}poll_interval_secs = 3600
[sources.bamboo.mapping]
time_zone = "Europe/Paris"
custom = {{ cost_center = "cost_center" }}

[systems."acme.atlassian.net"]
kind = "confluence_cloud"
site_url = "{site}"
scim_base_url = "{scim}"
email = "{email}"
api_token_env = "TEST_ATLASSIAN_TOKEN"
scim_key_env = "TEST_ATLASSIAN_SCIM_KEY"
"#,
            policy = acme().join("policy.toml").display(),
            bamboo = s(&bamboo, "base_url"),
            site = s(&cloud, "site_url"),
            scim = s(&cloud, "scim_base_url"),
            email = s(&cloud, "email"),
            hook = if bamboo.info.get("webhook_private_key").is_some() {
                "webhook_secret_env = \"TEST_BAMBOO_HOOK\"\n"
            } else {
                ""
            },
        );
        std::fs::write(dir.path().join("roster.toml"), config).unwrap();
        Sims { bamboo, cloud, dir }
    }

    fn roster(&self) -> Command {
        let s = |r: &roster_sim::Running, k: &str| r.info[k].as_str().unwrap_or("").to_string();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
        cmd.env_remove("ROSTER_CONFIG")
            .env_remove("ROSTER_DATABASE")
            .current_dir(self.dir.path())
            .arg("--config")
            .arg(self.dir.path().join("roster.toml"))
            .env("TEST_BAMBOO_KEY", s(&self.bamboo, "api_key"))
            .env("TEST_BAMBOO_HOOK", s(&self.bamboo, "webhook_private_key"))
            .env("TEST_ATLASSIAN_TOKEN", s(&self.cloud, "api_token"))
            .env("TEST_ATLASSIAN_SCIM_KEY", s(&self.cloud, "scim_key"));
        cmd
    }

    async fn cloud_user(&self, employee_id: &str) -> Option<Value> {
        let state: Value = http()
            .get(format!("{}/_sim/state", self.cloud.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["externalId"] == employee_id)
            .cloned()
    }

    async fn active_users(&self) -> usize {
        let state: Value = http()
            .get(format!("{}/_sim/state", self.cloud.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["active"] == true)
            .count()
    }

    async fn terminate(&self, employee_id: &str) {
        let yesterday = jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
            .date()
            .yesterday()
            .unwrap();
        let r = http()
            .patch(format!(
                "{}/_sim/employees/{employee_id}",
                self.bamboo.url()
            ))
            .json(&json!({"status": "Inactive", "terminationDate": yesterday.to_string()}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An active person of today's acme export with a Confluence account.
const STAYING: &str = "E00040";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_returns_five_percent_halts_and_revokes_nothing() {
    let sims = Sims::start(None).await;
    let first = output(sims.roster().args(["sync", "--once"]));
    assert!(first.status.success(), "{}", text(&first));
    let provisioned = sims.active_users().await;
    assert!(provisioned > 250, "{provisioned} active accounts");

    let r = http()
        .put(format!("{}/_sim/feed", sims.bamboo.url()))
        .json(&json!({"share": 0.05}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let halted = output(sims.roster().args(["sync", "--once"]));
    assert_eq!(halted.status.code(), Some(4), "{}", text(&halted));
    let message = text(&halted);
    assert!(
        message.contains("sync halted: bamboo lists")
            && message.contains("fewer than the 300 of its last import")
            && message.contains("Nothing was imported and nothing revoked"),
        "{message}"
    );
    assert_eq!(sims.active_users().await, provisioned, "nothing revoked");
    assert_eq!(sims.cloud_user(STAYING).await.unwrap()["active"], true);
}

/// A free loopback port for `roster serve` (the simulator must know the webhook URL first).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_termination_delivered_by_webhook_deactivates_the_confluence_account() {
    let port = free_port();
    let sims = Sims::start(Some(format!("http://127.0.0.1:{port}/webhooks/bamboo"))).await;
    let mut child = sims
        .roster()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("SCIM 2.0 at"), "{first}");
    // Keep reading, as a terminal or a log collector would.
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).count());
    let stderr = child.stderr.take().unwrap();
    let _serve = Serve(child);
    let log = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });

    // The first cycle runs at start: everyone is provisioned.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sims
        .cloud_user(STAYING)
        .await
        .is_none_or(|u| u["active"] != true)
    {
        assert!(
            Instant::now() < deadline,
            "initial provisioning did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the first cycle finish applying before the termination.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    sims.terminate(STAYING).await;
    let deadline = started + Duration::from_secs(30);
    loop {
        if sims
            .cloud_user(STAYING)
            .await
            .is_some_and(|u| u["active"] == false)
        {
            break;
        }
        if Instant::now() > deadline {
            drop(_serve);
            panic!(
                "the webhook did not deactivate the account; roster serve said:\n{}",
                log.join().unwrap().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("termination reached Confluence in {:?}", started.elapsed());
    // Delivered, verified, accepted: the simulator recorded a 202.
    let state: Value = http()
        .get(format!("{}/_sim/state", sims.bamboo.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        state["deliveries"][0]["status"], 202,
        "{}",
        state["deliveries"]
    );
    drop(_serve);
    let log = log.join().unwrap().join("\n");
    assert!(log.contains("syncing 1 HR source(s)"), "{log}");
}
