//! `roster`: the command-line interface to Roster — the demo, plan and apply, policy checks,
//! the audit log and point-in-time access. The binary's edge: errors become messages and
//! exit codes here, nowhere else.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::Timestamp;

// glibc's allocator spends about a third of a SCIM list request in malloc/free; mimalloc
// serves the same load 50 % faster (BENCHMARKS.md, SCIM server).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod commands;
mod config;
mod output;

/// Exit code when a plan is held by the safety check and needs `--confirm`.
pub const EXIT_HELD: u8 = 3;

/// Exit code when a source's listing shrank past `[safety] max_feed_shrink` and the sync
/// halted before importing it.
pub const EXIT_HALTED: u8 = 4;

#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    about = "Identity governance: HR is the source of truth; plan → apply → audit."
)]
pub struct Cli {
    /// Configuration file [default: roster.toml when it exists].
    #[arg(long, global = true, env = "ROSTER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (created on first run) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "ROSTER_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the example company end to end (SQLite + in-memory target), no setup needed.
    Demo {
        /// Directory for the demo's files.
        #[arg(long, default_value = "roster-demo")]
        dir: PathBuf,
        /// Where to provision.
        #[arg(long, value_enum, default_value_t = DemoTarget::ConfluenceCloud)]
        target: DemoTarget,
    },
    /// Import the HR sources, read the target, and show and store the plan.
    Plan(PlanArgs),
    /// Apply a plan: the given one, or resume an interrupted one, or plan anew and apply.
    Apply(ApplyArgs),
    /// Policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The hash-chained audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Point-in-time access.
    #[command(subcommand)]
    Access(AccessCommand),
    /// HR records that were not accepted.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// HR beside every identity provider and target: active leavers, orphaned and missing
    /// accounts, permission creep, unmanaged admins.
    Status(StatusArgs),
    /// Import every HR source, then plan and apply every system; with --once one cycle,
    /// otherwise poll each source at its interval until stopped.
    Sync(SyncArgs),
    /// The example-company generator.
    #[command(subcommand)]
    Example(ExampleCommand),
    /// Run an API simulator (a test partner speaking the vendor's API) in the foreground.
    Sim {
        #[arg(value_enum)]
        kind: SimKind,
        // Boxed: the simulators' many flags would make every command this size.
        #[command(flatten)]
        args: Box<SimArgs>,
    },
    /// Check a configured system's connection and say exactly what is missing.
    #[command(subcommand)]
    Connect(ConnectCommand),
    /// Tasks of manual targets (apps with no API).
    #[command(subcommand)]
    Task(TaskCommand),
    /// Serve the SCIM 2.0 endpoint identity providers (Okta, Entra ID, OneLogin) push into.
    Serve(ServeArgs),
    /// The SCIM endpoint's request log.
    #[command(subcommand)]
    Scim(ScimCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Base URL clients reach the server at, for `meta.location` behind a proxy
    /// [default: http:// and the request's Host].
    #[arg(long, env = "ROSTER_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Requests per second each SCIM token may send (0 = no limit); over it, 429 + Retry-After.
    #[arg(long, value_name = "RPS", default_value_t = roster_server::RateLimit::DEFAULT.per_second)]
    pub rate_limit: f64,
    /// Burst each token may send above the rate [default: twice the rate].
    #[arg(long, value_name = "REQUESTS")]
    pub rate_burst: Option<f64>,
    /// Request-log entries kept per connection.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub log_keep: u32,
    /// Shortest pause between two imports of a connection's people, in seconds.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub people_sync_interval: f64,
}

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// The newest requests and responses the SCIM endpoint served (bodies redacted), newest first.
    Log {
        /// Only this connection.
        #[arg(long)]
        connection: Option<String>,
        /// Only failed requests (status 400 and above).
        #[arg(long)]
        failed: bool,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Open tasks (or all with --all), oldest first.
    List {
        #[arg(long)]
        system: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Mark a task done; the audit log records who. The next `roster apply` completes the step.
    Done {
        id: u64,
        /// Who did it (recorded in the audit log).
        #[arg(long)]
        by: String,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DemoTarget {
    /// The Confluence Cloud simulator, started in this process.
    ConfluenceCloud,
    /// The in-memory target, kept in roster-demo/target.json.
    Memory,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SimKind {
    /// Confluence Cloud: Confluence REST v1/v2, Atlassian SCIM, organisation admin API.
    ConfluenceCloud,
    /// Confluence Data Center REST API.
    ConfluenceDc,
    /// Okta Users and Groups API (API token), seeded from the acme example.
    Okta,
    /// Microsoft Entra ID: the client-credentials token endpoint and Microsoft Graph users
    /// and groups, seeded from the acme example.
    Entra,
    /// Google Workspace Admin SDK Directory API and its service-account token endpoint,
    /// seeded from the acme example.
    Google,
    /// BambooHR: custom report, employee dataset, changed-since and signed webhooks, seeded
    /// with the acme example's people.
    Bamboohr,
    /// Personio v1: token, paged employees with wrapped attributes, updated_since, webhooks.
    Personio,
    /// HiBob: people search for a service user, signed webhooks.
    Hibob,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Start with no site data (no spaces, groups or users besides the admin).
    #[arg(long)]
    pub empty: bool,
    /// A space the site starts with, created by the admin: KEY or KEY=Name (repeatable).
    #[arg(long, value_name = "KEY[=NAME]")]
    pub space: Vec<String>,
    /// Cloud: the admin's e-mail (Basic auth user) [default: generated].
    #[arg(long)]
    pub email: Option<String>,
    /// Cloud: API token [default: generated].
    #[arg(long)]
    pub api_token: Option<String>,
    /// Cloud: SCIM directory API key [default: generated].
    #[arg(long)]
    pub scim_key: Option<String>,
    /// Cloud: organisation API key [default: generated].
    #[arg(long)]
    pub org_key: Option<String>,
    /// Data Center: admin username [default: generated].
    #[arg(long)]
    pub username: Option<String>,
    /// Data Center: admin password [default: generated].
    #[arg(long)]
    pub password: Option<String>,
    /// Data Center: personal access token [default: generated].
    #[arg(long)]
    pub pat: Option<String>,
    /// Okta: API token; Google: access token [default: generated].
    #[arg(long)]
    pub token: Option<String>,
    /// Entra: directory (tenant) id [default: generated].
    #[arg(long)]
    pub tenant_id: Option<String>,
    /// Entra: application (client) id [default: generated].
    #[arg(long)]
    pub client_id: Option<String>,
    /// Entra: client secret [default: generated].
    #[arg(long)]
    pub client_secret: Option<String>,
    /// BambooHR: the API key [default: generated].
    #[arg(long)]
    pub api_key: Option<String>,
    /// HiBob: the service user id [default: generated] (its token is --token).
    #[arg(long)]
    pub service_user_id: Option<String>,
    /// BambooHR, Personio, HiBob: register a webhook to this URL at start (its secret is printed).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// BambooHR, Personio, HiBob: start from the acme example's export of last week.
    #[arg(long)]
    pub previous_week: bool,
    /// Okta, Entra, Google: the largest page served, whatever the client asks (to cross many
    /// pages) [default: the vendor's largest]. BambooHR: the dataset's default page size.
    #[arg(long)]
    pub page_size: Option<usize>,
    /// Requests per second the whole site may send (0 = no limit); over it, 429 with the
    /// vendor's rate-limit headers, which answers within it carry too.
    #[arg(long, value_name = "RPS", default_value_t = 0)]
    pub rate_limit: u32,
    /// Share of requests answered with a 5xx (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Every N requests, a burst of --burst-length 429 answers (0 = never).
    #[arg(long, default_value_t = 0)]
    pub burst_every: u64,
    #[arg(long, default_value_t = 0)]
    pub burst_length: u64,
    /// Retry-After seconds on 429/503.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Latency added to each request, milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of writes carried out and then answered by dropping the connection (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub drop_after_write_rate: f64,
    /// Seed for the fault dice (0 = random).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum ConnectCommand {
    /// Check a system: credentials, permissions, scopes and groups.
    Test { system: String },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The system to plan [default: every configured system].
    #[arg(long)]
    pub system: Option<String>,
    /// Plan as of this instant instead of now (replaying exports).
    #[arg(long, value_parser = output::parse_time)]
    pub at: Option<Timestamp>,
    /// Read the HR source from this file instead of the configured path.
    #[arg(long, value_name = "FILE")]
    pub hr: Option<PathBuf>,
    /// Import this source even though it lists far fewer people than last time (the
    /// feed-shrink guard halts otherwise; recorded in the audit log).
    #[arg(long, value_name = "SOURCE")]
    pub accept_shrink: Vec<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan to apply [default: resume the interrupted plan, or plan anew].
    pub plan_id: Option<String>,
    /// Confirm a plan held by the safety check (recorded in the audit log).
    #[arg(long)]
    pub confirm: bool,
    #[command(flatten)]
    pub plan: PlanArgs,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy file; report every problem with line and column.
    Check { file: PathBuf },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; name the first broken, missing or altered event.
    Verify,
    /// Export events (oldest first).
    Export {
        /// Only events at or after this instant.
        #[arg(long, value_parser = output::parse_time)]
        since: Option<Timestamp>,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Who held which entitlement at an instant, and why.
    At {
        #[arg(long, value_parser = output::parse_time)]
        time: Timestamp,
        /// Only this person (e-mail).
        #[arg(long, conflicts_with = "space")]
        person: Option<String>,
        /// Only this space (direct permissions and through groups).
        #[arg(long)]
        space: Option<String>,
        #[arg(long)]
        system: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// One cycle, then exit (exit 4 if a source was halted by the feed-shrink guard, 3 if a
    /// plan was held, 1 on errors).
    #[arg(long)]
    pub once: bool,
    /// Import this source even though it lists far fewer people than last time (audited).
    #[arg(long, value_name = "SOURCE")]
    pub accept_shrink: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only findings of this category: active_leaver, orphaned_account, missing_account,
    /// permission_creep, unmanaged_admin.
    #[arg(long, value_parser = parse_category)]
    pub category: Option<roster_core::status::Category>,
    /// Compare as of this instant instead of now.
    #[arg(long, value_parser = output::parse_time)]
    pub at: Option<Timestamp>,
    /// Print the whole report as JSON (people with every account, findings, conflicts).
    #[arg(long)]
    pub json: bool,
}

fn parse_category(s: &str) -> Result<roster_core::status::Category, String> {
    roster_core::status::Category::parse(s).ok_or_else(|| {
        let names: Vec<&str> = roster_core::status::Category::ALL
            .iter()
            .map(|c| c.name())
            .collect();
        format!("unknown category \"{s}\"; one of {}", names.join(", "))
    })
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List quarantined HR records with their row and reason.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExampleCommand {
    /// Write an example company (policy, HR exports, expectations) into a directory.
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = roster_examples::ACME_SIZE)]
        people: usize,
        #[arg(long, default_value_t = roster_examples::ACME_SEED)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        // `roster audit export | head` closing the pipe early is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
