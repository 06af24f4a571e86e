//! Request pacing of the shared HTTP client against simulators with a small rate limit: a
//! burst of requests is spread at the rate the simulator announces (Cloud's
//! `X-RateLimit-Limit`, Data Center's `X-RateLimit-FillRate`) or the configured one, so it
//! gets few or no 429s and takes about requests ÷ rate. Behaviour, not a benchmark: the
//! bounds are generous.

use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_connectors::http::{HttpClient, HttpPolicy, Idempotence};
use roster_sim::faults::FaultConfig;
use roster_sim::{Running, cloud, dc};
use serde_json::Value;
use tokio::net::TcpListener;

fn policy(requests_per_second: Option<f64>) -> HttpPolicy {
    HttpPolicy {
        timeout_secs: 10,
        max_attempts: 8,
        base_delay_ms: 10,
        max_delay_ms: 1_000,
        max_concurrency: 8,
        requests_per_second,
    }
}

fn limited(rate_limit_per_sec: u32) -> FaultConfig {
    FaultConfig {
        rate_limit_per_sec,
        ..FaultConfig::default()
    }
}

async fn cloud_sim(faults: FaultConfig) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    cloud::start(
        listener,
        cloud::CloudOptions {
            faults,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

fn info(sim: &Running, key: &str) -> String {
    sim.info[key].as_str().unwrap().to_string()
}

/// The simulator's counters: (requests, throttled).
async fn counts(sim: &Running) -> (u64, u64) {
    let v: Value = reqwest::get(format!("{}/_sim/faults", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        v["requests"].as_u64().unwrap(),
        v["throttled"].as_u64().unwrap(),
    )
}

/// Builds request `i` of a burst.
type Build = Arc<dyn Fn(usize, &reqwest::Client) -> reqwest::RequestBuilder + Send + Sync>;

/// `n` requests at once, request `i` through `clients[i % len]`; all must succeed. Returns
/// the time taken.
async fn burst(clients: &[Arc<HttpClient>], n: usize, build: Build) -> Duration {
    let t = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let client = Arc::clone(&clients[i % clients.len()]);
            let build = Arc::clone(&build);
            tokio::spawn(async move {
                client
                    .send("list", Idempotence::Idempotent, |c| build(i, c))
                    .await
                    .map(drop)
            })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap()
            .expect("every request succeeds in the end");
    }
    t.elapsed()
}

/// `GET /wiki/rest/api/group` of a Cloud simulator, with Basic auth.
fn groups(sim: &Running) -> Build {
    let (site, email, token) = (
        info(sim, "site_url"),
        info(sim, "email"),
        info(sim, "api_token"),
    );
    Arc::new(move |_, c| {
        c.get(format!("{site}/wiki/rest/api/group"))
            .basic_auth(&email, Some(&token))
    })
}

#[tokio::test]
async fn cloud_burst_is_paced_to_the_announced_rate_across_shared_clients() {
    let sim = cloud_sim(limited(20)).await;
    let wiki = HttpClient::new("wiki", policy(None)).unwrap();
    assert_eq!(wiki.pace(), None, "nothing announced yet");
    // The site's REST API and its SCIM directory draw on the simulator's one bucket.
    let scim = wiki.same_budget("scim");
    let clients = [Arc::new(wiki), Arc::new(scim)];
    let (site, directory) = (info(&sim, "site_url"), info(&sim, "scim_base_url"));
    let (email, token, key) = (
        info(&sim, "email"),
        info(&sim, "api_token"),
        info(&sim, "scim_key"),
    );
    let n = 60;
    let elapsed = burst(
        &clients,
        n,
        Arc::new(move |i, c| {
            if i % 2 == 0 {
                c.get(format!("{site}/wiki/rest/api/group"))
                    .basic_auth(&email, Some(&token))
            } else {
                c.get(format!("{directory}/Users?count=1"))
                    .bearer_auth(&key)
            }
        }),
    )
    .await;
    let (requests, throttled) = counts(&sim).await;
    assert_eq!(
        clients[1].pace(),
        Some(20.0),
        "learnt from X-RateLimit-Limit"
    );
    assert!(
        throttled <= 2,
        "{throttled} of {requests} requests answered 429"
    );
    // The bucket (20, refilled at 20/s) lets 60 requests through in 2 s at best.
    let ideal = n as f64 / 20.0;
    assert!(
        elapsed.as_secs_f64() < 2.0 * ideal && elapsed.as_secs_f64() > 1.5,
        "{n} requests in {elapsed:?} at 20/s"
    );
}

#[tokio::test]
async fn data_center_burst_is_paced_to_the_fill_rate() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = dc::start(
        listener,
        dc::DcOptions {
            faults: limited(20),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let client = Arc::new(HttpClient::new("dc", policy(None)).unwrap());
    let base = info(&sim, "base_url");
    let pat = info(&sim, "pat");
    let n = 60;
    let elapsed = burst(
        std::slice::from_ref(&client),
        n,
        Arc::new(move |_, c| c.get(format!("{base}/rest/api/space")).bearer_auth(&pat)),
    )
    .await;
    let (requests, throttled) = counts(&sim).await;
    assert_eq!(client.pace(), Some(20.0), "FillRate per Interval-Seconds");
    assert!(
        throttled <= 2,
        "{throttled} of {requests} requests answered 429"
    );
    let ideal = n as f64 / 20.0;
    assert!(
        elapsed.as_secs_f64() < 2.0 * ideal && elapsed.as_secs_f64() > 1.5,
        "{n} requests in {elapsed:?} at 20/s"
    );
}

#[tokio::test]
async fn configured_rate_paces_a_system_that_announces_none_and_never_outruns_one_that_does() {
    // No limit, no headers: the configured 10/s alone spaces 25 requests over ~2.4 s.
    let sim = cloud_sim(FaultConfig::default()).await;
    let client = Arc::new(HttpClient::new("wiki", policy(Some(10.0))).unwrap());
    let elapsed = burst(std::slice::from_ref(&client), 25, groups(&sim)).await;
    assert_eq!(client.pace(), Some(10.0));
    assert!(
        elapsed > Duration::from_secs(2) && elapsed < Duration::from_secs(4),
        "25 requests at 10/s took {elapsed:?}"
    );

    // Configured faster than the simulator allows: the announced 20/s wins.
    let sim = cloud_sim(limited(20)).await;
    let client = Arc::new(HttpClient::new("wiki", policy(Some(1_000.0))).unwrap());
    burst(std::slice::from_ref(&client), 60, groups(&sim)).await;
    assert_eq!(client.pace(), Some(20.0));
    let (requests, throttled) = counts(&sim).await;
    assert!(
        throttled <= 2,
        "{throttled} of {requests} requests answered 429"
    );

    let err = HttpClient::new("wiki", policy(Some(0.0))).err().unwrap();
    assert!(
        err.to_string().contains("http.requests_per_second"),
        "{err}"
    );
}
