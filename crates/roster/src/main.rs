//! `roster`: the command-line interface to Roster — the demo, plan and apply, policy checks,
//! the audit log and point-in-time access. The binary's edge: errors become messages and
//! exit codes here, nowhere else.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::Timestamp;

mod commands;
mod config;
mod output;

/// Exit code when a plan is held by the safety check and needs `--confirm`.
pub const EXIT_HELD: u8 = 3;

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
    /// The example-company generator.
    #[command(subcommand)]
    Example(ExampleCommand),
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
