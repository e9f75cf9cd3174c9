//! Sessions of the web UI. Signing in checks the password exactly like the API
//! login (throttled, equal cost for unknown users, audited) and opens a new
//! session whose secret lives only in an HttpOnly cookie; the database keeps its
//! digest. A new secret is issued at every sign-in (no session fixation), the
//! previous session of that browser is ended, and signing out deletes the row, so
//! a copied cookie stops working at once.
//!
//! Forms are protected with a synchronizer token derived from the cookie's secret
//! (`SHA-256("trident csrf" ‖ secret)`): a page from another origin can neither
//! read the cookie nor compute the token. Before sign-in, the same derivation runs
//! over a separate random cookie (double submit), so the login form has one too.

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;

use super::sessions::{check_password, user_ref};
use crate::domain::{CredentialKind, CredentialRef, Password, Principal};
use crate::domain::{Inspection, TokenType};
use crate::error::AppError;
use crate::secret::{OpaqueSecret, SecretKind};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::browser_sessions as store;
use crate::store::owned::{self, Owned};

/// A session just opened: the cookie's value, shown to this browser only.
pub struct OpenedSession {
    pub secret: OpaqueSecret,
    pub expires_at: DateTime<Utc>,
}

/// Checks the password and opens a session; ends `replacing` (the browser's
/// previous session, if any) in the same transaction.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: Password,
    source_ip: Option<String>,
    replacing: Option<&OpaqueSecret>,
) -> Result<OpenedSession, AppError> {
    let now = state.clock.now();
    let user = check_password(state, username, password, source_ip.as_deref(), now).await?;
    open(state, &user, source_ip, replacing, now).await
}

/// Opens a session for a user who just proved who they are (sign-in or registration).
pub async fn open(
    state: &AppState,
    user: &entity::users::Model,
    source_ip: Option<String>,
    replacing: Option<&OpaqueSecret>,
    now: DateTime<Utc>,
) -> Result<OpenedSession, AppError> {
    let secret = OpaqueSecret::generate(SecretKind::BrowserSession);
    let ttl = Duration::from_std(state.settings.ui_session_ttl).map_err(anyhow::Error::from)?;
    let expires_at = now + ttl;
    let txn = state.db.write().begin().await?;
    let mut replaced = None;
    if let Some(previous) = replacing.filter(|s| s.kind() == SecretKind::BrowserSession) {
        replaced = store::delete_by_digest(&txn, &previous.digest()).await?;
    }
    let id = store::insert(&txn, user.id, &secret.digest(), now, expires_at).await?;
    audit::record(
        &txn,
        AuditEvent::new("user.login", Outcome::Success)
            .actor(&user_ref(user))
            .target("browser_session", id.to_string())
            .source_ip(source_ip),
        now,
    )
    .await?;
    if replaced.is_some() {
        // The replaced session may be cached as valid: every node must forget it.
        state.commit_credential_change(txn).await?;
    } else {
        // A new session nobody has cached: no node needs to forget anything (a
        // made-up cookie must not be a way to flush every node's cache).
        txn.commit().await?;
    }
    Ok(OpenedSession { secret, expires_at })
}

/// Ends a session (sign-out). Unknown or already ended sessions change nothing.
pub async fn sign_out(state: &AppState, secret: &OpaqueSecret) -> Result<(), AppError> {
    if secret.kind() != SecretKind::BrowserSession {
        return Ok(());
    }
    let now = state.clock.now();
    let txn = state.db.write().begin().await?;
    // An unknown or made-up session: nothing to end, and no node's cache to
    // flush (anyone can compute the CSRF token of a cookie they made up).
    let Some(ended) = store::delete_by_digest(&txn, &secret.digest()).await? else {
        return Ok(());
    };
    audit::record(
        &txn,
        AuditEvent::new("session.logout", Outcome::Success)
            .target("browser_session", ended.id.to_string())
            .details(serde_json::json!({ "user_id": ended.user_id })),
        now,
    )
    .await?;
    state.commit_credential_change(txn).await?;
    Ok(())
}

/// A session stands for its user, with the user's current permissions, until it
/// expires, is ended, or the user is disabled or deleted.
pub async fn inspect(
    state: &AppState,
    secret: &OpaqueSecret,
    now: DateTime<Utc>,
) -> Result<Inspection, AppError> {
    let Owned {
        credential: session,
        owner: user,
        grants,
    } = owned::find_by_digest::<entity::browser_sessions::Entity>(
        state.db.read(),
        entity::browser_sessions::Column::Digest,
        entity::browser_sessions::Column::UserId,
        secret.digest().as_bytes(),
    )
    .await?
    .filter(|o| o.credential.expires_at > now && !o.owner.disabled)
    .ok_or(AppError::Unauthenticated)?;
    Ok(Inspection {
        principal: Principal {
            principal: user_ref(&user),
            credential: CredentialRef {
                kind: CredentialKind::BrowserSession,
                id: session.id.to_string(),
                environment: None,
                expires_at: Some(session.expires_at),
                follows_principal: true,
            },
            scopes: grants.permissions,
            roles: grants.roles,
        },
        token_type: TokenType::BrowserSession,
        expires_at: Some(session.expires_at),
        issued_at: Some(session.created_at),
        not_before: None,
        jti: None,
        audience: None,
        client_id: None,
    })
}
