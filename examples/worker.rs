//! A queue worker, the seeds' story: it has no browser session and no
//! `request.user`, only the API key of the customer whose jobs it runs. For each
//! job it presents `Authorization: Api-Key <key>`, and Trident answers whom the
//! key acts for — billing, quotas and permissions follow that user.
//!
//! ```sh
//! TRIDENT_API_KEY=tri_live_… cargo run --example worker
//! # optionally hand the jobs to a compute service protected by Trident:
//! COMPUTE_URL=http://127.0.0.1:9090 TRIDENT_API_KEY=… cargo run --example worker
//! ```

use std::time::Duration;

use serde_json::{json, Value};

#[derive(Debug)]
struct Job {
    id: u32,
    prompt: &'static str,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let trident = std::env::var("TRIDENT_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("TRIDENT_API_KEY")
        .map_err(|_| "set TRIDENT_API_KEY to an API key (tri_live_… or tri_test_…)")?;
    let compute = std::env::var("COMPUTE_URL").ok();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let authorization = format!("Api-Key {key}");

    // The queue: in production a broker delivers these; the key travels with the job's customer.
    let queue = [
        Job {
            id: 1,
            prompt: "summarise the quarterly report",
        },
        Job {
            id: 2,
            prompt: "translate the release notes",
        },
    ];
    for job in queue {
        let response = http
            .get(format!("{trident}/api/v1/me"))
            .header("Authorization", &authorization)
            .send()
            .await?;
        if !response.status().is_success() {
            let status = response.status();
            let problem: Value = response.json().await.unwrap_or_default();
            return Err(format!(
                "job {}: the key was refused ({status}): {}",
                job.id, problem["detail"]
            )
            .into());
        }
        let me: Value = response.json().await?;
        println!(
            "job {} acts for {} {} ({}) with the {} key {}; scopes: {}",
            job.id,
            me["principal"]["type"].as_str().unwrap_or("?"),
            me["principal"]["name"].as_str().unwrap_or("?"),
            me["principal"]["id"].as_str().unwrap_or("?"),
            me["credential"]["environment"].as_str().unwrap_or("?"),
            me["credential"]["id"].as_str().unwrap_or("?"),
            me["scopes"],
        );
        if let Some(compute) = &compute {
            let submitted = http
                .post(format!("{compute}/v1/ai/jobs"))
                .header("Authorization", &authorization)
                .json(&json!({ "job_id": job.id, "prompt": job.prompt }))
                .send()
                .await?;
            println!(
                "job {} submitted to the compute service: {}",
                job.id,
                submitted.status()
            );
        }
    }
    Ok(())
}
