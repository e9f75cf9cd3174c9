//! The audit log: who issued, used, rotated, revoked what; logins and failures.

use chrono::{DateTime, Utc};
use entity::audit_events::{self, Column, Entity};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;

use super::{Page, StoreError};
use crate::domain::{PrincipalKind, PrincipalRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

/// One thing that happened, described without any secret.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub action: std::borrow::Cow<'static, str>,
    pub outcome: Outcome,
    pub actor: Option<PrincipalRef>,
    pub target: Option<(&'static str, String)>,
    pub source_ip: Option<String>,
    pub details: Option<Value>,
}

impl AuditEvent {
    pub fn new(action: impl Into<std::borrow::Cow<'static, str>>, outcome: Outcome) -> Self {
        Self {
            action: action.into(),
            outcome,
            actor: None,
            target: None,
            source_ip: None,
            details: None,
        }
    }

    pub fn actor(mut self, actor: &PrincipalRef) -> Self {
        self.actor = Some(actor.clone());
        self
    }

    pub fn target(mut self, kind: &'static str, id: impl Into<String>) -> Self {
        self.target = Some((kind, id.into()));
        self
    }

    pub fn source_ip(mut self, ip: Option<String>) -> Self {
        self.source_ip = ip;
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

pub async fn record(
    db: &impl ConnectionTrait,
    event: AuditEvent,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (actor_type, actor_id, actor_name) = match event.actor {
        Some(actor) => (
            Some(match actor.kind {
                PrincipalKind::User => "user".to_owned(),
                PrincipalKind::Client => "client".to_owned(),
            }),
            Some(actor.id),
            Some(actor.name),
        ),
        None => (None, None, None),
    };
    let (target_type, target_id) = match event.target {
        Some((kind, id)) => (Some(kind.to_owned()), Some(id)),
        None => (None, None),
    };
    Entity::insert(audit_events::ActiveModel {
        id: NotSet,
        occurred_at: Set(now),
        action: Set(event.action.into_owned()),
        outcome: Set(match event.outcome {
            Outcome::Success => "success".to_owned(),
            Outcome::Failure => "failure".to_owned(),
        }),
        actor_type: Set(actor_type),
        actor_id: Set(actor_id),
        actor_name: Set(actor_name),
        target_type: Set(target_type),
        target_id: Set(target_id),
        source_ip: Set(event.source_ip),
        details: Set(event.details.map(|d| d.to_string())),
    })
    .exec(db)
    .await?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    /// Username or client name, as recorded at the time.
    pub actor_name: Option<String>,
    pub action: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Newest first; the cursor is the id of the last event returned.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: AuditFilter,
    before: Option<i64>,
    limit: u64,
) -> Result<Page<audit_events::Model>, StoreError> {
    let mut query = Entity::find().order_by_desc(Column::Id);
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    if let Some(actor) = filter.actor_id {
        query = query.filter(Column::ActorId.eq(actor));
    }
    if let Some(name) = filter.actor_name {
        query = query.filter(Column::ActorName.eq(name));
    }
    if let Some(action) = filter.action {
        query = query.filter(Column::Action.eq(action));
    }
    if let Some(target) = filter.target_id {
        query = query.filter(Column::TargetId.eq(target));
    }
    if let Some(since) = filter.since {
        query = query.filter(Column::OccurredAt.gte(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(Column::OccurredAt.lt(until));
    }
    let rows = query.limit(limit + 1).all(db).await?;
    Ok(Page::from_rows(rows, limit, |e| e.id.to_string()))
}
