//! One authentication path: whatever credential a request presents becomes an
//! [`Inspection`] — the principal it stands for and the token's metadata — or one
//! uniform refusal. Introspection (RFC 7662) and every protected route share
//! this path and its cache.

use std::sync::Arc;

use super::access_tokens;
use super::changes::dependencies_of;
use super::deps::{CredentialDeps, InspectionCache};
use super::dispatch::inspect_opaque;
use super::error::AuthnError;
use super::presented::PresentedCredential;
use crate::domain::{CredentialKind, Inspection, Principal};
use crate::infra::cache::Cached;
use crate::infra::metrics::CheckOutcome;
use crate::secret::SecretKind;

/// Inspects a presented credential, from the cache when warm. A refusal for
/// good (unknown, revoked, expired) is remembered too, so a caller retrying a
/// dead credential costs no database round trip.
pub async fn inspect(
    deps: &CredentialDeps<'_>,
    presented: &PresentedCredential,
) -> Result<Arc<Inspection>, AuthnError> {
    let inspected = inspect_cached(deps, presented).await;
    let (kind, environment) = presented.labels();
    let outcome = match &inspected {
        Ok(_) => CheckOutcome::Active,
        Err(AuthnError::Unavailable { .. }) => CheckOutcome::Unavailable,
        Err(_) => CheckOutcome::Refused,
    };
    deps.metrics.credential_checked(kind, environment, outcome);
    inspected
}

async fn inspect_cached(
    deps: &CredentialDeps<'_>,
    presented: &PresentedCredential,
) -> Result<Arc<Inspection>, AuthnError> {
    let now = deps.clock.now();
    // Refresh tokens change on every use: never cached.
    let cacheable = !matches!(presented, PresentedCredential::Opaque(s) if s.kind() == SecretKind::RefreshToken);
    let key = InspectionCache::key(&[b"credential", presented.text().as_bytes()]);
    if cacheable {
        match deps.inspections.get(&key, now) {
            // A use answered from the cache is not recorded: the lookup that
            // filled the entry recorded one, and no entry is older than the
            // cache's maximum age (a minute), so `last_used_at` is never more
            // than that behind, and a key in steady use costs one last-use
            // write a minute instead of one per flush.
            Cached::Accepted(hit) => return Ok(hit),
            Cached::Refused => return Err(AuthnError::Unauthenticated),
            Cached::Miss => {}
        }
    }
    let ticket = deps.inspections.ticket();
    let inspected = match presented {
        PresentedCredential::AccessToken(token) => access_tokens::inspect(deps, token, now).await,
        PresentedCredential::Opaque(secret) => inspect_opaque(deps, secret, now).await,
    };
    let inspection = match inspected {
        Ok(inspection) => Arc::new(inspection),
        Err(AuthnError::Ended) => {
            if cacheable {
                deps.inspections.insert_refusal(key, ticket, now);
            }
            return Err(AuthnError::Unauthenticated);
        }
        Err(other) => return Err(other),
    };
    if cacheable {
        deps.inspections.insert(
            key,
            inspection.clone(),
            &dependencies_of(&inspection),
            inspection.expires_at,
            ticket,
            now,
        );
    }
    Ok(inspection)
}

/// Resolves a credential presented to Trident's own API.
pub async fn resolve(
    deps: &CredentialDeps<'_>,
    presented: PresentedCredential,
) -> Result<Principal, AuthnError> {
    let inspection = inspect(deps, &presented).await?;
    let accepted = match inspection.kind() {
        // A refresh token only buys new tokens; it never authorises a request.
        CredentialKind::RefreshToken => false,
        // RFC 9068 §4: Trident's API accepts only access tokens meant for it.
        CredentialKind::UserAccessToken | CredentialKind::ClientAccessToken => inspection
            .audience
            .as_ref()
            .is_some_and(|aud| aud.contains(&deps.settings.issuer)),
        CredentialKind::ApiKey
        | CredentialKind::PersonalAccessToken
        | CredentialKind::BrowserSession => true,
        // Client secrets authenticate clients at the OAuth endpoints only.
        CredentialKind::ClientSecret => false,
    };
    if accepted {
        Ok(inspection.principal.clone())
    } else {
        Err(AuthnError::Unauthenticated)
    }
}
