//! Use bookkeeping of the counted credential kinds (API keys and PATs): the
//! table of each kind, picked in one place.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{api_keys, personal_access_tokens, StoreError};
use crate::domain::{CredentialId, CredentialKind};

/// [`super::credential_rows::CredentialRows::mark_first_use`] in the table of `credential`'s kind. Only
/// the counted kinds (API keys and PATs) have a use to mark: the rest say `false`.
pub async fn mark_first_use(
    db: &impl ConnectionTrait,
    credential: CredentialId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    match credential.kind {
        CredentialKind::ApiKey => api_keys::ROWS.mark_first_use(db, credential.id, now).await,
        CredentialKind::PersonalAccessToken => {
            personal_access_tokens::ROWS
                .mark_first_use(db, credential.id, now)
                .await
        }
        CredentialKind::UserAccessToken
        | CredentialKind::ClientAccessToken
        | CredentialKind::RefreshToken
        | CredentialKind::ClientSecret
        | CredentialKind::BrowserSession => Ok(false),
    }
}

/// [`super::credential_rows::CredentialRows::touch_all`] in the table of
/// `kind` (counted kinds only).
pub async fn touch_all(
    db: &impl ConnectionTrait,
    kind: CredentialKind,
    ids: &[Uuid],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    match kind {
        CredentialKind::ApiKey => api_keys::ROWS.touch_all(db, ids, at).await,
        CredentialKind::PersonalAccessToken => {
            personal_access_tokens::ROWS.touch_all(db, ids, at).await
        }
        CredentialKind::UserAccessToken
        | CredentialKind::ClientAccessToken
        | CredentialKind::RefreshToken
        | CredentialKind::ClientSecret
        | CredentialKind::BrowserSession => Ok(()),
    }
}
