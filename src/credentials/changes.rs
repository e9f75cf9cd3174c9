//! Change notification: a change that can make credentials less valid commits
//! together with the notice other nodes act on, and this node's caches forget
//! what it touched as soon as the commit returns.
//!
//! Every change names what it affected ([`Change`]). Today each one still makes
//! every cache forget everything it holds; the verify-path work narrows that to
//! exactly what a change names, behind this same interface.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use uuid::Uuid;

use crate::domain::CredentialKind;

/// The PostgreSQL channel on which nodes announce credential changes.
pub const CHANGES_CHANNEL: &str = "trident_credentials";
/// The payload of the heartbeat every node sends on [`CHANGES_CHANNEL`].
pub const HEARTBEAT: &str = "heartbeat";

/// What a committed change made less valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// One stored credential: an API key, a PAT, a browser session, or a
    /// refresh-token family (with the access tokens of that session).
    Credential { kind: CredentialKind, id: Uuid },
    /// An access token, by its `jti` (the deny-list).
    AccessToken { jti: String },
    /// Everything a user holds: disabled, deleted, roles or password changed,
    /// signed out everywhere.
    User(Uuid),
    /// A client, its secrets and every token issued to it.
    Client(Uuid),
    /// Every holder of a role: its permissions changed, or it was deleted.
    Role(String),
    /// Anything: what another node's notice does not say.
    Everything,
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
        if self.notify_nodes {
            txn.execute_unprepared(&format!("NOTIFY {CHANGES_CHANNEL}"))
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

/// Until changes are forgotten one by one, a cache forgets everything it holds.
impl<T: Send + Sync> Forget for crate::infra::cache::CredentialCache<T> {
    fn forget(&self, _changes: &[Change]) {
        self.invalidate_all();
    }
}
