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
use sea_orm::{ConnectionTrait, TransactionTrait};
use uuid::Uuid;

use super::changes::Change;
use super::deps::CredentialDeps;
use super::error::AuthnError;
use super::kind::{Credential, Revoked, Revoker};
use super::sessions::check_password;
use super::user_bound::{self, UserBound};
use crate::domain::{CredentialKind, CredentialRef, CredentialStatus, Inspection, Password};
use crate::error::AppError;
use crate::secret::{OpaqueSecret, SecretKind};
use crate::store::audit::{self, AuditEvent, Outcome};
use crate::store::browser_sessions as store;
use crate::store::users;

/// A session just opened: the cookie's value, shown to this browser only.
pub struct OpenedSession {
    pub secret: OpaqueSecret,
    pub expires_at: DateTime<Utc>,
}

/// Checks the password and opens a session; ends `replacing` (the browser's
/// previous session, if any) in the same transaction.
pub async fn sign_in(
    deps: &CredentialDeps<'_>,
    username: &str,
    password: Password,
    source_ip: Option<String>,
    replacing: Option<&OpaqueSecret>,
) -> Result<OpenedSession, AppError> {
    let now = deps.clock.now();
    let user = check_password(deps, username, password, source_ip.as_deref(), now).await?;
    open(deps, &user, source_ip, replacing, now).await
}

/// Opens a session for a user who just proved who they are (sign-in or registration).
pub async fn open(
    deps: &CredentialDeps<'_>,
    user: &entity::users::Model,
    source_ip: Option<String>,
    replacing: Option<&OpaqueSecret>,
    now: DateTime<Utc>,
) -> Result<OpenedSession, AppError> {
    let secret = OpaqueSecret::generate(SecretKind::BrowserSession);
    let ttl = Duration::from_std(deps.settings.ui_session_ttl).map_err(anyhow::Error::from)?;
    let expires_at = now + ttl;
    let txn = deps.db.write().begin().await?;
    let mut replaced = None;
    if let Some(previous) = replacing.filter(|s| s.kind() == SecretKind::BrowserSession) {
        replaced = store::delete_by_digest(&txn, &previous.digest()).await?;
    }
    let id = store::insert(&txn, user.id, &secret.digest(), now, expires_at).await?;
    audit::record(
        &txn,
        AuditEvent::new("user.login", Outcome::Success)
            .actor(&users::principal_ref(user))
            .target("browser_session", id.to_string())
            .source_ip(source_ip),
        now,
    )
    .await?;
    if let Some(replaced) = replaced {
        // The replaced session may be cached as valid: every node must forget it.
        let change = Change::Credential {
            kind: CredentialKind::BrowserSession,
            id: replaced.id,
        };
        deps.changes.commit(txn, &[change]).await?;
    } else {
        // A new session nobody has cached: no node needs to forget anything (a
        // made-up cookie must not be a way to flush every node's cache).
        txn.commit().await?;
    }
    Ok(OpenedSession { secret, expires_at })
}

/// Ends a session (sign-out). Unknown or already ended sessions change nothing.
pub async fn sign_out(deps: &CredentialDeps<'_>, secret: &OpaqueSecret) -> Result<(), AppError> {
    if secret.kind() != SecretKind::BrowserSession {
        return Ok(());
    }
    let now = deps.clock.now();
    let txn = deps.db.write().begin().await?;
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
    let change = Change::Credential {
        kind: CredentialKind::BrowserSession,
        id: ended.id,
    };
    deps.changes.commit(txn, &[change]).await?;
    Ok(())
}

/// Web UI sessions as a credential kind: a session stands for its user, with
/// the user's current permissions, until it expires, is ended, or the user is
/// disabled or deleted.
pub struct BrowserSessions;

impl UserBound for BrowserSessions {
    type Entity = entity::browser_sessions::Entity;
    type Row = entity::browser_sessions::Model;
    const DIGEST: entity::browser_sessions::Column = entity::browser_sessions::Column::Digest;
    const USER_ID: entity::browser_sessions::Column = entity::browser_sessions::Column::UserId;

    fn id(session: &Self::Row) -> Uuid {
        session.id
    }

    /// Ending a session deletes it: a row that exists is revoked by nobody.
    fn status(session: &Self::Row, now: DateTime<Utc>) -> CredentialStatus {
        CredentialStatus::at(None, Some(session.expires_at), now)
    }

    fn own_scopes(_: &Self::Row) -> Option<&str> {
        None
    }

    fn credential(session: &Self::Row) -> Result<CredentialRef, AuthnError> {
        Ok(CredentialRef {
            kind: CredentialKind::BrowserSession,
            id: session.id.to_string(),
            environment: None,
            expires_at: Some(session.expires_at),
            follows_principal: true,
        })
    }

    fn created_at(session: &Self::Row) -> DateTime<Utc> {
        session.created_at
    }

    fn first_use(_: &Self::Row) -> Option<bool> {
        None
    }
}

impl Credential for BrowserSessions {
    async fn inspect(
        deps: &CredentialDeps<'_>,
        secret: &OpaqueSecret,
        now: DateTime<Utc>,
    ) -> Result<Inspection, AuthnError> {
        user_bound::inspect::<Self>(deps, secret, now).await
    }

    /// Only a leak report ends a session this way (its owner signs out instead).
    async fn revoke(
        db: &impl ConnectionTrait,
        secret: &OpaqueSecret,
        by: Revoker<'_>,
        _now: DateTime<Utc>,
    ) -> Result<Option<Revoked>, AuthnError> {
        if matches!(by, Revoker::Owner(_)) {
            return Ok(None);
        }
        let ended = store::delete_by_digest(db, &secret.digest()).await?;
        Ok(ended.map(|session| Revoked {
            kind: CredentialKind::BrowserSession,
            id: session.id.to_string(),
            owner: Some(session.user_id.to_string()),
            change: Change::Credential {
                kind: CredentialKind::BrowserSession,
                id: session.id,
            },
        }))
    }
}
