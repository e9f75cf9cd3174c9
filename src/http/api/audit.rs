//! `/api/v1/audit-events`: the audit log, newest first.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::audit;
use crate::domain::Principal;
use crate::error::AppError;
use crate::http::pagination::{PageBody, PageQuery};
use crate::http::problem::Problem;
use crate::state::AppState;
use crate::store::audit::AuditFilter;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
    /// Only events by this actor id.
    pub actor: Option<String>,
    /// Only events of this action, e.g. `user.login`.
    pub action: Option<String>,
    /// Only events about this target id.
    pub target: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEventBody {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub action: String,
    pub outcome: String,
    #[schema(value_type = Option<Object>)]
    pub actor: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub target: Option<serde_json::Value>,
    pub source_ip: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl From<entity::audit_events::Model> for AuditEventBody {
    fn from(e: entity::audit_events::Model) -> Self {
        let actor = e
            .actor_id
            .map(|id| serde_json::json!({"type": e.actor_type, "id": id, "name": e.actor_name}));
        let target = e
            .target_id
            .map(|id| serde_json::json!({"type": e.target_type, "id": id}));
        AuditEventBody {
            id: e.id,
            occurred_at: e.occurred_at,
            action: e.action,
            outcome: e.outcome,
            actor,
            target,
            source_ip: e.source_ip,
            details: e.details.and_then(|d| serde_json::from_str(&d).ok()),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = PageBody<AuditEventBody>), (status = 403, body = Problem)),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list_audit_events(
    principal: Principal,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    for (field, value) in [
        ("actor", &query.actor),
        ("action", &query.action),
        ("target", &query.target),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.contains('\0') || v.len() > 200)
        {
            return Err(AppError::validation(
                field,
                "at most 200 characters, no NUL",
            ));
        }
    }
    let paging = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let before = paging.cursor(|c| c.parse::<i64>().ok())?;
    let filter = AuditFilter {
        actor_id: query.actor,
        actor_name: None,
        action: query.action,
        target_id: query.target,
        since: query.since,
        until: query.until,
    };
    let page = audit::list(
        &state.accounts(),
        &principal,
        filter,
        before,
        paging.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, AuditEventBody::from)))
}
