//! Client secrets: they authenticate a client at the OAuth endpoints (which
//! `oauth::client_authentication` does with [`matching`]) and are never tokens
//! themselves. A leak report ends the secret and every token bought with it.

use chrono::{DateTime, Utc};
use entity::client_secrets::Model as ClientSecret;
use sea_orm::ConnectionTrait;

use super::changes::Change;
use super::deps::CredentialDeps;
use super::error::AuthnError;
use super::kind::{Credential, Revoked, Revoker};
use crate::domain::{CredentialKind, Inspection};
use crate::secret::{Digest, OpaqueSecret, SecretKind};
use crate::store::clients;

/// The secret of `live` that `presented` is, compared in constant time against
/// every one of them (and against a dummy when there are none), so an unknown
/// client and a wrong secret cost the same.
pub fn matching<'a>(presented: &str, live: &'a [ClientSecret]) -> Option<&'a ClientSecret> {
    let presented = OpaqueSecret::parse(presented)
        .filter(|s| s.kind() == SecretKind::ClientSecret)
        .map_or(Digest([0; 32]), |s| s.digest());
    let mut matched = None;
    for secret in live {
        if presented.verify(&secret.digest) {
            matched = Some(secret);
        }
    }
    if live.is_empty() {
        let _ = presented.verify(&[0xff; 32]);
    }
    matched
}

pub struct ClientSecrets;

impl Credential for ClientSecrets {
    /// A client secret authenticates its client; it is not a token to inspect.
    async fn inspect(
        _: &CredentialDeps<'_>,
        _: &OpaqueSecret,
        _: DateTime<Utc>,
    ) -> Result<Inspection, AuthnError> {
        Err(AuthnError::Unauthenticated)
    }

    /// Only a leak report ends a secret this way (its client's managers rotate it).
    async fn revoke(
        db: &impl ConnectionTrait,
        secret: &OpaqueSecret,
        by: Revoker<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<Revoked>, AuthnError> {
        if matches!(by, Revoker::Owner(_)) {
            return Ok(None);
        }
        let client = clients::expire_secret(db, secret.digest().as_bytes(), now).await?;
        Ok(client.map(|client| Revoked {
            kind: CredentialKind::ClientSecret,
            id: client.id.to_string(),
            owner: Some(client.id.to_string()),
            change: Change::Client(client.client_id),
        }))
    }
}
