//! The audit log page: who issued, used for the first time, rotated or revoked
//! what, and every sign-in and failure — filtered by actor, kind and time.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::errors::UiError;
use super::forms::{form_status, FieldErrors};
use super::frame::{Layout, SignedIn};
use super::pages::render;
use crate::accounts::audit;
use crate::domain::Permission;
use crate::state::AppState;
use crate::store::audit::AuditFilter;

const PAGE_SIZE: u64 = 100;
/// The kinds of event the filter offers.
const ACTIONS: &[&str] = &[
    "api_key.create",
    "api_key.first_use",
    "api_key.revoke",
    "api_key.rotate",
    "client.authenticate",
    "client.create",
    "client.delete",
    "client.secret_rotate",
    "client.update",
    "credential.leaked",
    "pat.create",
    "pat.first_use",
    "pat.revoke",
    "role.create",
    "role.delete",
    "role.update",
    "session.logout",
    "session.logout_all",
    "session.refresh_token_reused",
    "token.revoke",
    "user.create",
    "user.delete",
    "user.login",
    "user.update",
];

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    cursor: Option<i64>,
}

pub struct EventRow {
    pub when: String,
    pub action: String,
    pub outcome: String,
    pub actor: String,
    pub target: String,
    pub source_ip: String,
    pub details: String,
}

impl From<entity::audit_events::Model> for EventRow {
    fn from(e: entity::audit_events::Model) -> Self {
        let actor = match (e.actor_type, e.actor_name, e.actor_id) {
            (Some(kind), Some(name), _) => format!("{kind} {name}"),
            (_, _, Some(id)) => id,
            _ => "—".to_owned(),
        };
        let target = match (e.target_type, e.target_id) {
            (Some(kind), Some(id)) => format!("{kind} {id}"),
            _ => "—".to_owned(),
        };
        EventRow {
            when: e.occurred_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            action: e.action,
            outcome: e.outcome,
            actor,
            target,
            source_ip: e.source_ip.unwrap_or_default(),
            details: e.details.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage<'a> {
    layout: Layout,
    query: &'a AuditQuery,
    actions: &'a [&'a str],
    events: Vec<EventRow>,
    next: Option<String>,
    errors: FieldErrors,
}

impl AuditPage<'_> {
    /// The link to the next page: the same filters, further back.
    fn next_href(&self, cursor: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("actor", &self.query.actor),
            ("action", &self.query.action),
            ("since", &self.query.since),
            ("until", &self.query.until),
        ] {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        query.append_pair("cursor", cursor);
        format!("/admin/audit?{}", query.finish())
    }
}

/// A day from the filter: its start, or (for `until`) the start of the next day.
fn day(text: &str, field: &str, next_day: bool, errors: &mut FieldErrors) -> Option<DateTime<Utc>> {
    if text.is_empty() {
        return None;
    }
    let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| if next_day { d.succ_opt() } else { Some(d) })
        .and_then(|d| d.and_hms_opt(0, 0, 0));
    if parsed.is_none() {
        errors.add(field, "a date as YYYY-MM-DD");
    }
    parsed.map(|t| t.and_utc())
}

pub async fn list_audit_events(
    signed_in: SignedIn,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    signed_in.principal.require(Permission::AuditRead)?;
    let mut errors = FieldErrors::default();
    let since = day(&query.since, "since", false, &mut errors);
    let until = day(&query.until, "until", true, &mut errors);
    let trimmed = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let (events, next) = if errors.is_empty() {
        let filter = AuditFilter {
            actor_name: trimmed(&query.actor),
            action: trimmed(&query.action),
            since,
            until,
            ..AuditFilter::default()
        };
        let caller = &signed_in.principal;
        let page = audit::list(&state.accounts(), caller, filter, query.cursor, PAGE_SIZE).await?;
        (page.items, page.next_cursor)
    } else {
        (Vec::new(), None)
    };
    render(
        form_status(&errors),
        &AuditPage {
            layout: signed_in.layout("audit"),
            query: &query,
            actions: ACTIONS,
            events: events.into_iter().map(EventRow::from).collect(),
            next,
            errors,
        },
    )
}
