//! Refresh tokens as credentials: one belongs to a session (its family); it is
//! active while unspent, unexpired, its session alive and its user enabled.
//! Spending, rotation and reuse detection are in `sessions`.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::changes::Change;
use super::deps::CredentialDeps;
use super::error::AuthnError;
use super::kind::{Credential, Revoked, Revoker};
use super::sessions::session_alive;
use crate::domain::{
    CredentialKind, CredentialRef, Environment, Inspection, Principal, PrincipalKind,
};
use crate::keys::jwt::FIRST_PARTY_CLIENT_ID;
use crate::secret::OpaqueSecret;
use crate::store::{refresh_tokens, users};

pub struct RefreshTokens;

impl Credential for RefreshTokens {
    async fn inspect(
        deps: &CredentialDeps<'_>,
        secret: &OpaqueSecret,
        now: DateTime<Utc>,
    ) -> Result<Inspection, AuthnError> {
        let db = deps.db.read();
        let (row, family) = refresh_tokens::find_by_digest(db, &secret.digest())
            .await?
            .ok_or(AuthnError::Unauthenticated)?;
        if !session_alive(deps.settings, &family, now)
            || row.used_at.is_some()
            || row.expires_at <= now
        {
            return Err(AuthnError::Unauthenticated);
        }
        let user = users::find(db, family.user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(AuthnError::Unauthenticated)?;
        let grants = users::grants(db, user.id).await?;
        Ok(Inspection {
            principal: Principal {
                principal: users::principal_ref(&user),
                credential: CredentialRef {
                    kind: CredentialKind::RefreshToken,
                    id: row.id.to_string(),
                    environment: None,
                    expires_at: Some(row.expires_at),
                    follows_principal: true,
                },
                scopes: grants.permissions,
                roles: grants.roles,
            },
            expires_at: Some(row.expires_at),
            issued_at: Some(row.created_at),
            not_before: None,
            jti: None,
            audience: None,
            session: Some(family.id.to_string()),
            client_id: Some(FIRST_PARTY_CLIENT_ID.to_owned()),
        })
    }

    /// Revoking a refresh token ends its whole session (family), with the
    /// session's access tokens.
    async fn revoke(
        db: &impl ConnectionTrait,
        secret: &OpaqueSecret,
        by: Revoker<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<Revoked>, AuthnError> {
        let Some((_, family)) = refresh_tokens::find_by_digest(db, &secret.digest()).await? else {
            return Ok(None);
        };
        let reason = match by {
            Revoker::Owner(caller) => {
                if !caller.owns(
                    PrincipalKind::User,
                    &family.user_id.to_string(),
                    Environment::Live,
                ) {
                    return Ok(None);
                }
                "revoked"
            }
            Revoker::LeakReport => "leaked",
        };
        let revoked = refresh_tokens::revoke_family(db, family.id, reason, now).await?;
        Ok(revoked.then(|| Revoked {
            kind: CredentialKind::RefreshToken,
            id: family.id.to_string(),
            owner: Some(family.user_id.to_string()),
            change: Change::Credential {
                kind: CredentialKind::RefreshToken,
                id: family.id,
            },
        }))
    }
}
