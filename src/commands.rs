//! What the CLI does, one function per command.

use std::sync::Arc;

use chrono::Duration;
use serde_json::json;

use crate::accounts::clients::{self, NewClientInput};
use crate::clock::SystemClock;
use crate::config::{Settings, MAX_CLIENT_TOKEN_TTL_SECS};
use crate::domain::{Password, RoleName, Username};
use crate::keys::SigningAlgorithm;
use crate::startup::{build_state, Application};
use crate::store::Db;
use crate::{accounts, telemetry};

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init(settings.log_format);
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    tracing::info!(
        port = app.port(),
        issuer = %app.issuer(),
        "trident is listening"
    );
    app.run_until_stopped().await?;
    tracing::info!("trident stopped");
    Ok(())
}

pub async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database).await?;
    db.migrate().await?;
    db.close().await;
    println!("{}", json!({ "migrated": true }));
    Ok(())
}

pub async fn create_user(
    settings: Settings,
    username: &str,
    password: String,
    roles: &[String],
) -> anyhow::Result<()> {
    let state = build_state(settings, Arc::new(SystemClock)).await?;
    let username = Username::parse(username).map_err(|e| anyhow::anyhow!("username: {e}"))?;
    let password = Password::parse(password).map_err(|e| anyhow::anyhow!("password: {e}"))?;
    let roles = RoleName::parse_all(roles.iter().map(String::as_str))
        .map_err(|e| anyhow::anyhow!("roles: {e}"))?;
    let issue_key = state.settings.api_key_on_user_create;
    let created = accounts::users::create_user(
        &state.accounts(),
        None,
        username,
        password,
        roles,
        issue_key,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let record = created.record;
    let api_key = created
        .api_key
        .map(|(key, secret)| json!({ "id": key.id, "environment": key.environment, "key": secret.reveal() }));
    println!(
        "{}",
        json!({ "id": record.user.id, "username": record.user.username, "roles": record.roles, "api_key": api_key })
    );
    state.db.close().await;
    Ok(())
}

pub async fn rotate_keys(
    settings: Settings,
    algorithm: Option<SigningAlgorithm>,
) -> anyhow::Result<()> {
    let algorithm = algorithm.unwrap_or(settings.signing_algorithm);
    // Keep old keys published while the tokens they signed can still be presented:
    // the longest lifetime any access token can have, plus clock skew and JWKS caching.
    let longest = settings
        .access_token_ttl
        .max(std::time::Duration::from_secs(MAX_CLIENT_TOKEN_TTL_SECS));
    let overlap = Duration::from_std(longest)? + Duration::minutes(5);
    let state = build_state(settings, Arc::new(SystemClock)).await?;
    let kid = state
        .keys
        .rotate(state.db.write(), algorithm, overlap, state.clock.now())
        .await?;
    println!(
        "{}",
        json!({ "kid": kid, "algorithm": algorithm.jose_name(), "previous_keys_published_for_seconds": overlap.num_seconds() })
    );
    state.db.close().await;
    Ok(())
}

pub async fn create_client(
    settings: Settings,
    name: String,
    roles: &[String],
    ttl: Option<i64>,
) -> anyhow::Result<()> {
    let state = build_state(settings, Arc::new(SystemClock)).await?;
    let input = NewClientInput {
        name: &name,
        roles,
        access_token_ttl_seconds: ttl,
    };
    let (record, secret) = clients::create(&state.accounts(), None, input)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{}",
        json!({
            "id": record.client.id,
            "client_id": record.client.client_id,
            "client_secret": secret.reveal(),
            "name": record.client.name,
            "roles": record.roles,
        })
    );
    state.db.close().await;
    Ok(())
}
