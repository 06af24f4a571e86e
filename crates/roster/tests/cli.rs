//! The `roster` binary as a user runs it: real processes, a real SQLite file, the example
//! company from `examples/acme`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use roster_examples::Expected;
use serde_json::Value;

fn roster() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_remove("ROSTER_CONFIG")
        .env_remove("ROSTER_DATABASE")
        .env_remove("ROSTER_POLICY");
    cmd
}

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

fn expected() -> Expected {
    Expected::parse(&std::fs::read_to_string(acme().join("expected.toml")).unwrap()).unwrap()
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

/// A configuration over `examples/acme` with its own database and target file.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(latency_ms: u64) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"database = "sqlite://roster.db"
policy = "{policy}"

[sources.hr]
kind = "csv"
path = "{hr}"

[systems."acme.atlassian.net"]
kind = "memory"
state_file = "target.json"
latency_ms = {latency_ms}
"#,
            policy = acme().join("policy.toml").display(),
            hr = acme().join("hr.csv").display(),
        );
        std::fs::write(dir.path().join("roster.toml"), config).unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self) -> Command {
        let mut cmd = roster();
        cmd.current_dir(self.dir.path())
            .arg("--config")
            .arg(self.path("roster.toml"));
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// `roster plan --json` at `at` from `hr`; returns the plan id and the plan.
    fn plan(&self, hr: &Path, at: &str) -> (String, Value) {
        let out = ok(self.run(&["plan", "--json", "--at", at, "--hr", hr.to_str().unwrap()]));
        let value: Value = serde_json::from_slice(&out.stdout).unwrap();
        (value["plan_id"].as_str().unwrap().to_string(), value)
    }

    /// Last week's export, planned and applied: the state the example's expectations start from.
    fn last_week(&self) {
        let e = expected();
        let at = e.previous_as_of.to_string();
        let (id, _) = self.plan(&acme().join("hr-previous.csv"), &at);
        ok(self.run(&["apply", &id, "--at", &at]));
    }

    fn audit_events(&self) -> Vec<Value> {
        let out = ok(self.run(&["audit", "export", "--format", "jsonl"]));
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn ids(plan: &Value, event: &str) -> BTreeSet<String> {
    plan["plan"]["people"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.as_str() == Some(event))
        .map(|(k, _)| k.clone())
        .collect()
}

#[test]
fn demo_runs_with_no_setup_and_leaves_nothing_to_do() {
    let cwd = tempfile::tempdir().unwrap();
    let out = ok(roster()
        .arg("demo")
        .current_dir(cwd.path())
        .output()
        .unwrap());
    let stdout = text(&out.stdout);
    let e = expected();
    assert!(
        stdout.contains(&format!(
            "Today: {} joiner(s), {} mover(s), {} leaver(s)",
            e.joiners.len(),
            e.movers.len(),
            e.leavers.len()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("Audit chain intact"), "{stdout}");
    assert!(stdout.contains("Try next"), "{stdout}");
    // The quarantined rows are shown, each with its row and field.
    let stderr = text(&out.stderr);
    for q in &e.quarantined {
        assert!(
            stderr.contains(&format!("row {}", q.row)) && stderr.contains(&q.field),
            "row {} not reported:\n{stderr}",
            q.row
        );
    }
    assert!(
        stdout.contains("Planning again: nothing to change"),
        "{stdout}"
    );
    assert!(
        stdout.contains("/_sim/state"),
        "the simulator's URL is shown: {stdout}"
    );

    // With the in-memory target the demo's configuration keeps working after it exits:
    // planning again finds nothing to do.
    ok(roster()
        .args(["demo", "--target", "memory"])
        .current_dir(cwd.path())
        .output()
        .unwrap());
    let config = cwd.path().join("roster-demo/roster.toml");
    let again = ok(roster()
        .current_dir(cwd.path())
        .args([
            "--config",
            config.to_str().unwrap(),
            "plan",
            "--json",
            "--at",
        ])
        .arg(e.as_of.to_string())
        .output()
        .unwrap());
    let plan: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(plan["plan"]["changes"].as_array().unwrap().len(), 0);
    // A second demo starts afresh rather than failing on the first one's files.
    ok(roster()
        .arg("demo")
        .current_dir(cwd.path())
        .output()
        .unwrap());
}

#[test]
fn plan_over_the_example_company_counts_its_joiners_movers_and_leavers() {
    let s = Setup::new(0);
    s.last_week();
    let e = expected();
    let (_, plan) = s.plan(&acme().join("hr.csv"), &e.as_of.to_string());
    let summary = &plan["plan"]["summary"];
    assert_eq!(summary["joiners"], e.joiners.len());
    assert_eq!(summary["movers"], e.movers.len());
    assert_eq!(summary["leavers"], e.leavers.len());
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    assert_eq!(ids(&plan, "joiner"), set(&e.joiners));
    assert_eq!(ids(&plan, "mover"), set(&e.movers));
    assert_eq!(ids(&plan, "leaver"), set(&e.leavers));
    assert_eq!(plan["status"], "pending");

    // The table form says the same, grouped by person with totals.
    let table = ok(s.run(&["plan", "--at", &e.as_of.to_string()]));
    let table = text(&table.stdout);
    assert!(table.contains("Totals"), "{table}");
    for id in &e.movers {
        assert!(table.contains(&format!("{id}) — mover")), "{table}");
    }
}

/// Today's export with only the first `percent` % of its rows.
fn truncated_export(s: &Setup, percent: usize) -> PathBuf {
    let full = std::fs::read_to_string(acme().join("hr.csv")).unwrap();
    let mut lines = full.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let kept: Vec<&str> = rows
        .iter()
        .take(rows.len() * percent / 100)
        .copied()
        .collect();
    let path = s.path(&format!("hr-{percent}.csv"));
    std::fs::write(&path, format!("{header}\n{}\n", kept.join("\n"))).unwrap();
    path
}

#[test]
fn a_feed_that_lost_most_people_halts_the_sync_and_changes_nothing() {
    let s = Setup::new(0);
    s.last_week();
    let e = expected();
    let before = std::fs::read(s.path("target.json")).unwrap();
    let access = || ok(s.run(&["access", "at", "--time", &e.as_of.to_string(), "--json"])).stdout;
    let people_before = access();
    assert!(people_before.len() > 1000, "access at lists who has what");
    // An export that lost 60 % of its rows.
    let broken = truncated_export(&s, 40);
    let at = e.as_of.to_string();
    for command in ["plan", "apply"] {
        let out = s.run(&[command, "--at", &at, "--hr", broken.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("sync halted: hr lists") && stderr.contains("max_feed_shrink"),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read(s.path("target.json")).unwrap(), before);
    let events = s.audit_events();
    assert!(
        !events.iter().any(|ev| ev["action"] == "deactivate account"),
        "nothing may be revoked"
    );
    assert_eq!(
        events
            .iter()
            .filter(|ev| ev["action"] == "halt sync")
            .count(),
        2,
        "each halt is on record"
    );
    // Nobody was marked absent: who has access is what it was.
    assert_eq!(people_before, access());
}

#[test]
fn a_feed_that_shrank_less_but_revokes_much_is_held_until_confirmed() {
    let s = Setup::new(0);
    s.last_week();
    let e = expected();
    let before = std::fs::read(s.path("target.json")).unwrap();
    // 15 % fewer people: under the feed-shrink limit, over the 10 % revocation limit.
    let shrunk = truncated_export(&s, 85);
    let at = e.as_of.to_string();
    let out = s.run(&["plan", "--at", &at, "--hr", shrunk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("HELD") && stderr.contains("--confirm"),
        "{stderr}"
    );
    let out = s.run(&["apply", "--at", &at, "--hr", shrunk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(s.path("target.json")).unwrap(), before);
    assert!(
        !s.audit_events()
            .iter()
            .any(|ev| ev["action"] == "deactivate account"),
        "nothing may be revoked while the plan is held"
    );
}

fn accounts_in(target: &Path) -> usize {
    std::fs::read_to_string(target)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["accounts"].as_array().map(|a| a.len()))
        .unwrap_or(0)
}

#[test]
fn an_apply_killed_midway_resumes_without_repeating_or_skipping_a_step() {
    let s = Setup::new(2);
    let e = expected();
    let at = e.previous_as_of.to_string();
    let hr = acme().join("hr-previous.csv");
    let (id, plan) = s.plan(&hr, &at);
    let total = plan["plan"]["changes"].as_array().unwrap().len();
    assert!(
        total > 1000,
        "the first sync creates everyone: {total} steps"
    );

    let mut child = s
        .cmd()
        .args(["apply", &id, "--at", &at])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while accounts_in(&s.path("target.json")) < 40 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "apply never got going"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply finished too soon"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();

    let logged_before = s
        .audit_events()
        .iter()
        .filter(|ev| ev["detail"]["plan_id"] == id.as_str())
        .count();
    assert!(logged_before < total, "the kill came after the end");

    let out = ok(s.run(&["apply", "--at", &at, "--hr", hr.to_str().unwrap()]));
    assert!(
        text(&out.stderr).contains(&format!("resuming interrupted plan {id}")),
        "{}",
        text(&out.stderr)
    );

    let mut per_step: BTreeMap<u64, usize> = BTreeMap::new();
    for ev in s.audit_events() {
        if ev["detail"]["plan_id"] == id.as_str() && ev["detail"]["step"].is_u64() {
            *per_step
                .entry(ev["detail"]["step"].as_u64().unwrap())
                .or_default() += 1;
        }
    }
    assert_eq!(per_step.len(), total, "every step logged");
    assert!(
        per_step.values().all(|&n| n == 1),
        "a step was logged twice: {:?}",
        per_step.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let (_, again) = s.plan(&hr, &at);
    assert_eq!(again["plan"]["changes"].as_array().unwrap().len(), 0);
    ok(s.run(&["audit", "verify"]));
}

async fn sql(db: &Path, statement: &'static str) {
    use sqlx::Connection;
    let url = format!("sqlite://{}", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(statement).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn audit_verify_names_the_first_edited_or_deleted_event() {
    let s = Setup::new(0);
    s.last_week();
    let out = ok(s.run(&["audit", "verify"]));
    assert!(text(&out.stdout).contains("audit chain intact"));
    let db = s.path("roster.db");

    sql(
        &db,
        "UPDATE audit_event SET actor = 'mallory' WHERE seq = 5",
    )
    .await;
    let out = s.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("BROKEN") && stdout.contains("event 5 "),
        "{stdout}"
    );

    sql(
        &db,
        "UPDATE audit_event SET actor = 'roster apply' WHERE seq = 5",
    )
    .await;
    ok(s.run(&["audit", "verify"]));

    sql(&db, "DELETE FROM audit_event WHERE seq = 10").await;
    let out = s.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("event 10 is missing"), "{stdout}");
}

#[test]
fn policy_check_reports_every_problem_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    std::fs::write(
        &file,
        r#"[[roles]]
name = "staff"
includes = ["nobody"]

[[rules]]
name = "all"
when = 'departmnt == "X"'
roles = ["staff"]

[[rules]]
name = "all"
when = 'department == '
roles = ["staff"]
"#,
    )
    .unwrap();
    let out = roster()
        .args(["policy", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let located: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with(file.to_str().unwrap()))
        .collect();
    assert!(located.len() >= 4, "{stdout}");
    assert!(stdout.contains(":3:"), "unknown role on line 3: {stdout}");
    assert!(stdout.contains("departmnt"), "{stdout}");
    assert!(
        stdout.contains(":11:"),
        "duplicate rule on line 11: {stdout}"
    );

    let out = ok(roster()
        .args(["policy", "check"])
        .arg(acme().join("policy.toml"))
        .output()
        .unwrap());
    assert!(text(&out.stdout).contains("ok"));
}

#[test]
fn commands_without_configuration_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = roster()
        .arg("plan")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("roster demo"),
        "{}",
        text(&out.stderr)
    );
    let out = roster()
        .args(["--database", "mysql://x", "audit", "verify"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("sqlite://"),
        "{}",
        text(&out.stderr)
    );
}

/// The same tamper test through the CLI on PostgreSQL, in a schema of its own (selected by
/// the URL's `options=-csearch_path=...`). Runs when `ROSTER_TEST_DATABASE_URL` is set.
#[tokio::test]
async fn audit_verify_names_the_tampered_event_on_postgres() {
    use sqlx::{Connection, Executor};
    let Ok(base) = std::env::var("ROSTER_TEST_DATABASE_URL") else {
        eprintln!("skipped: set ROSTER_TEST_DATABASE_URL to run the PostgreSQL tests");
        return;
    };
    let schema = format!("roster_cli_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        )))
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");

    let s = Setup::new(0);
    let e = expected();
    let at = e.previous_as_of.to_string();
    let hr = acme().join("hr-previous.csv");
    let out = ok(s
        .cmd()
        .args(["--database", &url, "plan", "--json", "--at", &at, "--hr"])
        .arg(&hr)
        .output()
        .unwrap());
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = plan["plan_id"].as_str().unwrap();
    ok(s.cmd()
        .args(["--database", &url, "apply", id, "--at", &at])
        .output()
        .unwrap());
    let verify = || {
        s.cmd()
            .args(["--database", &url, "audit", "verify"])
            .output()
            .unwrap()
    };
    ok(verify());

    // The append-only trigger stops an UPDATE; the table's owner can switch it off, as an
    // attacker with those rights could.
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {schema}.audit_event DISABLE TRIGGER audit_event_append_only; \
             UPDATE {schema}.audit_event SET subject = 'someone.else@acme.example' WHERE seq = 7"
        )))
        .await
        .unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("event 7 "),
        "{}",
        text(&out.stdout)
    );

    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {schema}.audit_event WHERE seq = 7"
        )))
        .await
        .unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("event 7 is missing"),
        "{}",
        text(&out.stdout)
    );
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .unwrap();
}
