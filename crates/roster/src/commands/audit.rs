//! `roster audit verify` and `roster audit export`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use jiff::Timestamp;
use roster_store::{VerifyError, verify_audit};

use super::Global;
use crate::ExportFormat;
use crate::output::ProgressLine;

/// Events read per page while exporting.
const PAGE: u32 = 5_000;

pub async fn verify(global: &Global<'_>) -> Result<ExitCode> {
    let store = global.open_store().await?;
    let mut line = ProgressLine::new("verifying the audit chain");
    let result = verify_audit(store.as_ref(), |n| line.update(n, None)).await;
    line.finish();
    match result {
        Ok(count) => {
            let head = store.audit_head().await?;
            match head {
                Some((seq, hash)) if count > 0 => println!(
                    "audit chain intact: {count} event(s), last event {seq}, head hash {hash}"
                ),
                _ => println!("audit chain intact: no events yet"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(VerifyError::Broken(brk)) => {
            println!("AUDIT CHAIN BROKEN: {brk}");
            println!(
                "Events before it are intact. Compare with an earlier export or backup to see what changed."
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e @ VerifyError::Store(_)) => Err(e.into()),
    }
}

pub async fn export(
    global: &Global<'_>,
    since: Option<Timestamp>,
    format: ExportFormat,
    out: Option<&Path>,
) -> Result<ExitCode> {
    let store = global.open_store().await?;
    let sink: Box<dyn Write> = match out {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut sink = std::io::BufWriter::new(sink);
    let mut csv_writer = match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::mem::replace(
                &mut sink,
                std::io::BufWriter::new(Box::new(std::io::sink())),
            ));
            w.write_record([
                "seq",
                "at",
                "actor",
                "action",
                "system",
                "subject",
                "detail",
                "prev_hash",
                "hash",
            ])?;
            Some(w)
        }
        ExportFormat::Jsonl => None,
    };
    let since = since.unwrap_or(Timestamp::MIN);
    let mut after = 0;
    let mut count = 0u64;
    let mut line = ProgressLine::new("exporting audit events");
    loop {
        let page = store.audit_since(since, after, PAGE).await?;
        for event in &page {
            let body = event
                .parsed()
                .with_context(|| format!("audit event {} is unreadable", event.seq))?;
            match &mut csv_writer {
                Some(w) => {
                    w.write_record([
                        body.seq.to_string(),
                        body.at.to_string(),
                        body.actor.clone(),
                        body.action.clone(),
                        body.system.clone().unwrap_or_default(),
                        body.subject.clone(),
                        body.detail.to_string(),
                        event.prev_hash.clone(),
                        event.hash.clone(),
                    ])?;
                }
                None => {
                    let mut value = serde_json::to_value(&body)?;
                    value["prev_hash"] = event.prev_hash.clone().into();
                    value["hash"] = event.hash.clone().into();
                    serde_json::to_writer(&mut sink, &value)?;
                    sink.write_all(b"\n")?;
                }
            }
            after = event.seq;
            count += 1;
        }
        line.update(count, None);
        if page.len() < PAGE as usize {
            break;
        }
    }
    match csv_writer {
        Some(mut w) => w.flush()?,
        None => sink.flush()?,
    }
    line.finish();
    if let Some(path) = out {
        eprintln!("exported {count} event(s) to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
