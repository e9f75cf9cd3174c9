//! The seeds' compute service: `POST /v1/ai/jobs` and `GET /v1/ai/jobs`,
//! protected by Trident's introspection endpoint (RFC 7662). It accepts every
//! Trident credential — `Authorization: Api-Key <key>`, `X-API-Key: <key>` and
//! `Authorization: Bearer <jwt|pat>` — and records for each job the user or
//! client it belongs to, so billing and quotas can follow that principal.
//!
//! ```sh
//! trident client create --name compute-rs --role admin   # any client holding tokens:introspect
//! RS_CLIENT_ID=cli_… RS_CLIENT_SECRET=tri_cs_… cargo run --example resource_server
//! ```
//!
//! Also `RS_BIND` (default `127.0.0.1:9090`), `TRIDENT_URL` (default
//! `http://127.0.0.1:8080`) and `RS_AUDIENCE` (this service's `resource`
//! identifier, default `http://RS_BIND`).

// A program of its own, not part of Trident: it reads the system clock, which
// Trident's code takes from a `Clock` instead (clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::{header, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

/// Revocation: an introspection answer is reused for at most this long (and never
/// past the token's `exp`), so a revoked credential may still be accepted here for
/// up to 30 seconds: the delay this service adds to Trident's own.
const CACHE_TTL: Duration = Duration::from_secs(30);
/// Bounds memory when many distinct tokens arrive; a full cache is simply emptied.
const CACHE_MAX_ENTRIES: usize = 10_000;
/// Longer than any Trident credential: such junk is refused without asking Trident.
const MAX_TOKEN_LEN: usize = 8_000;

#[derive(Clone, Debug, Deserialize, Serialize)]
struct PrincipalRef {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    name: String,
}

/// Whom an active credential stands for, in the introspection answer's words;
/// each job records it so billing and quotas follow that principal.
#[derive(Clone, Deserialize, Serialize)]
struct Caller {
    principal: PrincipalRef,
    /// `api_key`, `personal_access_token` or `access_token` (user session or M2M).
    token_type: String,
    /// `live` or `test` for API keys, so billing can tell test traffic apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    #[serde(default, skip_serializing)]
    scope: String,
}

#[derive(Clone, Serialize)]
struct Job {
    id: usize,
    prompt: String,
    #[serde(flatten)]
    caller: Caller,
    created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Deserialize)]
struct NewJob {
    prompt: String,
}

type Cache = HashMap<[u8; 32], (Instant, Arc<Caller>)>;

struct State {
    http: reqwest::Client,
    introspect_url: String,
    client_id: String,
    client_secret: String,
    audience: String,
    cache: Mutex<Cache>,
    jobs: Mutex<Vec<Job>>,
}

/// Why a request is refused, answered as RFC 6750 §3 says.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("a credential is required")]
    Missing,
    #[error("the credential is not active")]
    InvalidToken,
    #[error("{0}")]
    InvalidRequest(&'static str),
    #[error("the credential lacks the {0} scope")]
    InsufficientScope(&'static str),
    #[error("the authorization server cannot be reached; try again")]
    Unavailable,
}

impl ResponseError for Refusal {
    fn error_response(&self) -> HttpResponse {
        let (status, error, challenge) = match self {
            Refusal::Missing => (StatusCode::UNAUTHORIZED, "unauthorized", String::new()),
            Refusal::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                r#", error="invalid_token""#.into(),
            ),
            Refusal::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!(r#", error="insufficient_scope", scope="{scope}""#),
            ),
            Refusal::InvalidRequest(_) => {
                (StatusCode::BAD_REQUEST, "invalid_request", String::new())
            }
            Refusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                String::new(),
            ),
        };
        let mut response = HttpResponse::build(status);
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                format!(r#"Bearer realm="compute"{challenge}"#),
            ));
        }
        response.json(json!({ "error": error, "error_description": self.to_string() }))
    }
}

/// The request's one credential, whichever of the three headers carries it.
fn presented(req: &HttpRequest) -> Result<&str, Refusal> {
    let schemed = req
        .headers()
        .get_all(header::AUTHORIZATION)
        .filter_map(|v| {
            let (scheme, token) = v.to_str().ok()?.split_once(' ')?;
            let ours =
                scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("api-key");
            ours.then_some(token)
        });
    // An unreadable X-API-Key still counts, as a credential that cannot be active.
    let bare = req
        .headers()
        .get_all("x-api-key")
        .map(|v| v.to_str().unwrap_or(""));
    let mut found = schemed.chain(bare).map(str::trim);
    match (found.next(), found.next()) {
        (None, _) => Err(Refusal::Missing),
        (Some(token), None) => Ok(token),
        (Some(_), Some(_)) => Err(Refusal::InvalidRequest("present exactly one credential")),
    }
}

fn unavailable(error: impl std::fmt::Display) -> Refusal {
    // 401/403 from Trident mean this service's own client is misconfigured, not the caller.
    eprintln!("introspection failed: {error}");
    Refusal::Unavailable
}

/// Asks Trident what `token` is, and for how long the answer may be reused.
/// Anything but a clear answer refuses the request (fails closed): 503, never a guess.
async fn introspect(state: &State, token: &str) -> Result<Option<(Caller, Duration)>, Refusal> {
    let answer: Value = (state.http.post(&state.introspect_url))
        .basic_auth(&state.client_id, Some(&state.client_secret))
        .form(&[("token", token)])
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(unavailable)?
        .json()
        .await
        .map_err(unavailable)?;
    if answer["active"] != true {
        return Ok(None);
    }
    let caller: Caller = serde_json::from_value(answer.clone()).map_err(unavailable)?;
    // RFC 9068 §4: a JWT must be meant for us. Tokens addressed to Trident itself
    // (user sessions, M2M tokens without `resource`) are accepted too, because this
    // service is first-party; a third-party service would accept only its own.
    let audiences = match &answer["aud"] {
        Value::Array(many) => many.iter().collect(),
        one => vec![one],
    };
    let meant_for_us = audiences
        .iter()
        .filter_map(|aud| aud.as_str())
        .any(|aud| aud == state.audience || Some(aud) == answer["iss"].as_str());
    // A refresh token only buys new tokens at Trident; it never authorises a call.
    let kind = caller.token_type.as_str();
    if kind == "refresh_token" || (kind == "access_token" && !meant_for_us) {
        return Ok(None);
    }
    // Reused until `exp`, and never longer than CACHE_TTL.
    let left = answer["exp"].as_i64().map_or(CACHE_TTL, |exp| {
        Duration::from_secs(u64::try_from(exp - chrono::Utc::now().timestamp()).unwrap_or(0))
    });
    Ok(Some((caller, left.min(CACHE_TTL))))
}

/// The caller, if its credential is active and carries `scope`.
async fn authorize(
    req: &HttpRequest,
    state: &State,
    scope: &'static str,
) -> Result<Arc<Caller>, Refusal> {
    let token = presented(req)?;
    let plausible = !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !plausible {
        return Err(Refusal::InvalidToken);
    }
    // Keyed by digest, so this service's memory holds no usable token.
    let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let cached = state
        .cache
        .lock()
        .await
        .get(&key)
        .filter(|(until, _)| *until > Instant::now())
        .map(|(_, caller)| caller.clone());
    let caller = match cached {
        Some(caller) => caller,
        None => {
            let (caller, ttl) = introspect(state, token)
                .await?
                .ok_or(Refusal::InvalidToken)?;
            let caller = Arc::new(caller);
            let mut cache = state.cache.lock().await;
            if cache.len() >= CACHE_MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(key, (Instant::now() + ttl, caller.clone()));
            caller
        }
    };
    if !caller.scope.split_whitespace().any(|s| s == scope) {
        return Err(Refusal::InsufficientScope(scope));
    }
    Ok(caller)
}

/// The seeds' `POST /v1/ai/jobs`: the job is recorded against whoever the credential stands for.
async fn create_job(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<State>,
) -> Result<HttpResponse, Refusal> {
    // The body is looked at only once the caller is known: strangers get a 401, not hints.
    let caller = authorize(&req, &state, "jobs:write").await?;
    let new: NewJob = serde_json::from_slice(&body)
        .map_err(|_| Refusal::InvalidRequest(r#"the body must be JSON: {"prompt": "…"}"#))?;
    let prompt = new.prompt.trim();
    if prompt.is_empty() {
        return Err(Refusal::InvalidRequest("prompt must not be empty"));
    }
    let mut jobs = state.jobs.lock().await;
    let job = Job {
        id: jobs.len() + 1,
        prompt: prompt.to_owned(),
        caller: Caller::clone(&caller),
        created_at: chrono::Utc::now(),
    };
    jobs.push(job.clone());
    Ok(HttpResponse::Created().json(job))
}

async fn list_jobs(req: HttpRequest, state: web::Data<State>) -> Result<HttpResponse, Refusal> {
    authorize(&req, &state, "jobs:read").await?;
    Ok(HttpResponse::Ok().json(json!({ "items": *state.jobs.lock().await })))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let bind = var("RS_BIND").unwrap_or_else(|| "127.0.0.1:9090".into());
    let trident = var("TRIDENT_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let required = |name: &str| var(name).ok_or(format!("set {name} (see the header)"));
    let state = web::Data::new(State {
        // No redirects: the client secret goes to Trident's URL and nowhere else.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()?,
        introspect_url: format!("{}/oauth/introspect", trident.trim_end_matches('/')),
        client_id: required("RS_CLIENT_ID")?,
        client_secret: required("RS_CLIENT_SECRET")?,
        audience: var("RS_AUDIENCE").unwrap_or_else(|| format!("http://{bind}")),
        cache: Mutex::default(),
        jobs: Mutex::default(),
    });
    eprintln!(
        "compute service on http://{bind}, audience {}, introspecting at {}",
        state.audience, state.introspect_url
    );
    HttpServer::new(move || {
        App::new().app_data(state.clone()).service(
            web::resource("/v1/ai/jobs")
                .route(web::post().to(create_job))
                .route(web::get().to(list_jobs)),
        )
    })
    .bind(&bind)?
    .run()
    .await?;
    Ok(())
}
