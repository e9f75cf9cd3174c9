//! Change notification: a change that can make credentials less valid commits
//! together with the notice other nodes act on, and this node's caches forget
//! what it touched as soon as the commit returns.
//!
//! Every change names what it affected ([`Change`]); a cache forgets exactly
//! the entries that depend on it ([`Dependency`]). On PostgreSQL the changes of
//! one commit travel, batched, as the payload of one `NOTIFY`; a batch too big
//! for a payload (or one a node cannot read) becomes "forget everything", the
//! only place that still happens. Adding a credential changes nothing.

use std::hash::Hash;
use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Statement};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{CredentialKind, Inspection};

/// The PostgreSQL channel on which nodes announce credential changes.
pub const CHANGES_CHANNEL: &str = "trident_credentials";
/// The payload of the heartbeat every node sends on [`CHANGES_CHANNEL`].
pub const HEARTBEAT: &str = "heartbeat";
/// PostgreSQL refuses `NOTIFY` payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7999;

/// What a committed change made less valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// One stored credential: an API key, a PAT, a browser session, or a
    /// refresh-token family (with the access tokens of that session).
    Credential { kind: CredentialKind, id: Uuid },
    /// An access token, by its `jti` (the deny-list).
    AccessToken { jti: String },
    /// Everything a user holds: disabled, deleted, roles or password changed,
    /// signed out everywhere.
    User(Uuid),
    /// A client (by its `client_id`), its secrets and every token issued to it.
    Client(String),
    /// Every holder of a role: its permissions changed, or it was deleted.
    Role(String),
    /// Anything: what another node's notice does not say.
    Everything,
}

/// What a cached answer depends on. A change names some of these
/// ([`Change::dependency`]); an answer lists all of its own
/// ([`dependencies_of`]), and forgetting one forgets every answer that lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dependency<'a> {
    /// A stored credential by its id (an access token by its `jti`, a session
    /// by its refresh-token family).
    Credential(&'a str),
    /// A user by id, a client by `client_id`.
    Principal(&'a str),
    Role(&'a str),
}

impl Change {
    /// What this change makes caches forget, or `None` for everything. `buf`
    /// holds a formatted id.
    pub fn dependency<'a>(&'a self, buf: &'a mut [u8; 36]) -> Option<Dependency<'a>> {
        Some(match self {
            Change::Credential { id, .. } => {
                Dependency::Credential(id.hyphenated().encode_lower(buf))
            }
            Change::AccessToken { jti } => Dependency::Credential(jti),
            Change::User(id) => Dependency::Principal(id.hyphenated().encode_lower(buf)),
            Change::Client(client_id) => Dependency::Principal(client_id),
            Change::Role(name) => Dependency::Role(name),
            Change::Everything => return None,
        })
    }

    /// The `NOTIFY` payload announcing `changes` (everything, when they do not fit).
    pub fn encode(changes: &[Change]) -> String {
        match serde_json::to_string(changes) {
            Ok(payload) if payload.len() <= MAX_PAYLOAD => payload,
            _ => Self::encode(&[Change::Everything]),
        }
    }

    /// The changes another node announced; a payload that does not read as
    /// changes asks to forget everything (never less than was meant).
    pub fn decode(payload: &str) -> Vec<Change> {
        serde_json::from_str(payload).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "an unreadable change notice: forgetting everything");
            vec![Change::Everything]
        })
    }
}

/// Everything an inspection's answer depends on: its credential (and, for a
/// user's access token, its session), its principal and its roles.
pub fn dependencies_of(inspection: &Inspection) -> Vec<Dependency<'_>> {
    let principal = &inspection.principal;
    let mut dependencies = Vec::with_capacity(3 + principal.roles.len());
    dependencies.push(Dependency::Credential(&principal.credential.id));
    dependencies.push(Dependency::Principal(&principal.principal.id));
    if let Some(session) = &inspection.session {
        dependencies.push(Dependency::Credential(session));
    }
    dependencies.extend(principal.roles.iter().map(|r| Dependency::Role(r)));
    dependencies
}

/// What forgets on a change: the credential caches, and later counters and subscribers.
pub trait Forget: Send + Sync {
    fn forget(&self, changes: &[Change]);
}

/// Commits changes and makes every interested party forget what they touched.
pub struct ChangeNotifier {
    /// PostgreSQL: other nodes hear of a change through `NOTIFY`.
    notify_nodes: bool,
    forgetters: Vec<Arc<dyn Forget>>,
}

impl ChangeNotifier {
    pub fn new(notify_nodes: bool, forgetters: Vec<Arc<dyn Forget>>) -> Self {
        Self {
            notify_nodes,
            forgetters,
        }
    }

    /// Commits `txn`, which made `changes`: `NOTIFY` is delivered to every node
    /// at commit (PostgreSQL), and this node forgets as soon as the commit returns.
    pub async fn commit(&self, txn: DatabaseTransaction, changes: &[Change]) -> Result<(), DbErr> {
        if self.notify_nodes && !changes.is_empty() {
            txn.execute(Statement::from_sql_and_values(
                txn.get_database_backend(),
                "SELECT pg_notify($1, $2)",
                [CHANGES_CHANNEL.into(), Change::encode(changes).into()],
            ))
            .await?;
        }
        txn.commit().await?;
        self.forget(changes);
        Ok(())
    }

    /// Makes this node forget `changes` (a change made here, or announced by another node).
    pub fn forget(&self, changes: &[Change]) {
        for forgetter in &self.forgetters {
            forgetter.forget(changes);
        }
    }
}

/// A cache forgets the entries that depend on what a change names.
impl<T: crate::infra::cache::Weigh + Send + Sync> Forget
    for crate::infra::cache::CredentialCache<T>
{
    fn forget(&self, changes: &[Change]) {
        for change in changes {
            let mut buf = [0; 36];
            match change.dependency(&mut buf) {
                Some(dependency) => self.forget(&dependency),
                None => self.forget_all(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_travel_as_a_payload_and_come_back_the_same() {
        let changes = vec![
            Change::Credential {
                kind: CredentialKind::ApiKey,
                id: Uuid::new_v4(),
            },
            Change::AccessToken {
                jti: "0193-jti".into(),
            },
            Change::User(Uuid::new_v4()),
            Change::Client("cli_abc".into()),
            Change::Role("billing-admin".into()),
            Change::Everything,
        ];
        let payload = Change::encode(&changes);
        assert!(payload.len() < 400, "{} bytes: {payload}", payload.len());
        assert_eq!(Change::decode(&payload), changes);
    }

    #[test]
    fn a_batch_too_big_for_one_notice_forgets_everything() {
        let many: Vec<_> = (0..500).map(|_| Change::User(Uuid::new_v4())).collect();
        let payload = Change::encode(&many);
        assert!(payload.len() <= MAX_PAYLOAD);
        assert_eq!(Change::decode(&payload), vec![Change::Everything]);
    }

    #[test]
    fn an_unreadable_notice_forgets_everything() {
        for payload in ["", "garbage", "[{\"user\":\"not-a-uuid\"}]", "{}"] {
            assert_eq!(
                Change::decode(payload),
                vec![Change::Everything],
                "{payload}"
            );
        }
    }

    #[test]
    fn a_change_names_the_dependency_an_inspection_lists() {
        let id = Uuid::new_v4();
        let mut buf = [0; 36];
        let change = Change::User(id);
        assert_eq!(
            change.dependency(&mut buf),
            Some(Dependency::Principal(&id.to_string()))
        );
    }
}
