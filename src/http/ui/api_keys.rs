//! The API keys page: a user's keys, creating a live or test key (shown once),
//! rotating one with a grace period, and revoking one after a confirmation.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use entity::api_keys::Model as ApiKey;
use serde::Deserialize;
use uuid::Uuid;

use super::errors::UiError;
use super::forms::{
    chosen_grace, days_ahead, first, form_status, ticked_scopes, until_text, CheckedForm,
    Confirmed, FieldErrors, GraceForm, DEFAULT_GRACE_SECS, GRACE_CHOICES,
};
use super::frame::{Layout, SignedIn};
use super::pages::{ok, render, see_other, when, when_opt, ConfirmPage, ListQuery, SecretPage};
use crate::credentials::api_keys::{self, NewKey};
use crate::domain::{scope_words, Environment};
use crate::error::AppError;
use crate::state::AppState;

const PAGE_SIZE: u64 = 50;
/// Expiry choices of the create form, in days ("" = never).
const EXPIRY_DAYS: [i64; 3] = [30, 90, 365];
const NOTICES: &[(&str, &str)] = &[(
    "revoked",
    "The key was revoked. It stopped working at once.",
)];

pub struct KeyRow {
    pub id: Uuid,
    pub name: String,
    pub environment: String,
    pub display: String,
    /// `None`: the key follows its owner's permissions.
    pub scopes: Option<Vec<String>>,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    pub status: &'static str,
}

impl KeyRow {
    fn new(key: ApiKey, now: DateTime<Utc>) -> Self {
        KeyRow {
            status: api_keys::status(&key, now).as_str(),
            id: key.id,
            display: format!("{}…{}", key.display_prefix, key.last_chars),
            scopes: key.scopes.as_deref().map(scope_words),
            created: when(&key.created_at),
            last_used: when_opt(&key.last_used_at),
            expires: when_opt(&key.expires_at),
            environment: key.environment,
            name: key.name,
        }
    }

    fn scope_text(&self) -> String {
        self.scopes.as_ref().map_or_else(
            || "all of the owner's permissions".to_owned(),
            |s| s.join(" "),
        )
    }
}

pub struct CreateForm {
    pub name: String,
    pub environment: String,
    pub scopes: Vec<(String, bool)>,
    pub expiry: String,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    layout: Layout,
    notice: &'static str,
    keys: Vec<KeyRow>,
    next: Option<String>,
    form: CreateForm,
    errors: FieldErrors,
    expiry_days: [i64; 3],
}

#[derive(Template)]
#[template(path = "api_key_rotate.html")]
struct RotatePage {
    layout: Layout,
    key: KeyRow,
    grace_choices: [(i64, &'static str); 4],
    default_grace: i64,
}

async fn keys_page(
    signed_in: &SignedIn,
    state: &AppState,
    cursor: Option<Uuid>,
    notice: &'static str,
    form: CreateForm,
    errors: FieldErrors,
) -> Result<HttpResponse, UiError> {
    let page = api_keys::list(
        &state.credentials(),
        &signed_in.principal,
        None,
        cursor,
        PAGE_SIZE,
    )
    .await?;
    let now = state.clock.now();
    render(
        form_status(&errors),
        &ApiKeysPage {
            layout: signed_in.layout("api-keys"),
            notice,
            keys: page
                .items
                .into_iter()
                .map(|k| KeyRow::new(k, now))
                .collect(),
            next: page.next_cursor,
            form,
            errors,
            expiry_days: EXPIRY_DAYS,
        },
    )
}

pub async fn list_api_keys(
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let form = CreateForm {
        name: String::new(),
        environment: "live".into(),
        scopes: signed_in.scope_choices(&[]),
        expiry: String::new(),
    };
    let notice = query.notice(NOTICES);
    keys_page(
        &signed_in,
        &state,
        query.cursor,
        notice,
        form,
        FieldErrors::default(),
    )
    .await
}

/// What the new-key form posts.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KeyForm {
    #[serde(deserialize_with = "first")]
    name: String,
    #[serde(deserialize_with = "first")]
    environment: String,
    scopes: Vec<String>,
    /// Days until it expires, one of [`EXPIRY_DAYS`]; empty for never.
    #[serde(deserialize_with = "first")]
    expiry: String,
}

fn new_key(form: &KeyForm, now: DateTime<Utc>) -> Result<NewKey, AppError> {
    let ticked = &form.scopes;
    let environment = Environment::parse(&form.environment)
        .ok_or_else(|| AppError::validation("environment", "choose live or test"))?;
    // No box ticked: the key follows the owner's permissions as they change.
    let scopes = match ticked.is_empty() {
        true => None,
        false => Some(ticked_scopes(ticked)?),
    };
    let expires_at = match form.expiry.as_str() {
        "" => None,
        days => Some(days_ahead(days, &EXPIRY_DAYS, now)?),
    };
    Ok(NewKey {
        name: form.name.trim().to_owned(),
        environment,
        scopes,
        expires_at,
    })
}

fn key_issued(
    signed_in: &SignedIn,
    heading: &str,
    row: KeyRow,
    secret: &str,
    mut extra: Vec<(&'static str, String)>,
) -> Result<HttpResponse, UiError> {
    let mut details = vec![
        ("Name", row.name.clone()),
        ("Environment", row.environment.clone()),
        ("Scopes", row.scope_text()),
        ("Expires", row.expires.clone()),
    ];
    details.append(&mut extra);
    render(
        StatusCode::CREATED,
        &SecretPage {
            layout: signed_in.layout("api-keys"),
            heading,
            intro: "Send it in the Authorization header as Api-Key <key> (or in an X-API-Key header) from your workers and backends.",
            secret_label: "API key",
            secret,
            details,
            back_href: "/api-keys",
            back_label: "I have stored it: back to my keys",
        },
    )
}

#[tracing::instrument(name = "web create api key", skip_all)]
pub async fn create_api_key(
    signed_in: SignedIn,
    CheckedForm(form): CheckedForm<KeyForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let now = state.clock.now();
    let created = match new_key(&form, now) {
        Ok(key) => api_keys::create(&state.credentials(), &signed_in.principal, key).await,
        Err(e) => Err(e),
    };
    match created {
        Ok((row, secret)) => key_issued(
            &signed_in,
            "Your new API key",
            KeyRow::new(row, now),
            secret.reveal(),
            vec![],
        ),
        Err(e) => {
            let errors = FieldErrors::default().absorb(e, "name")?;
            let form = CreateForm {
                scopes: signed_in.scope_choices(&form.scopes),
                name: form.name,
                environment: form.environment,
                expiry: form.expiry,
            };
            keys_page(&signed_in, &state, None, "", form, errors).await
        }
    }
}

pub async fn show_rotation(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let key = api_keys::get(&state.credentials(), &signed_in.principal, *id).await?;
    ok(&RotatePage {
        layout: signed_in.layout("api-keys"),
        key: KeyRow::new(key, state.clock.now()),
        grace_choices: GRACE_CHOICES,
        default_grace: DEFAULT_GRACE_SECS,
    })
}

#[tracing::instrument(name = "web rotate api key", skip_all)]
pub async fn rotate_api_key(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    CheckedForm(form): CheckedForm<GraceForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let now = state.clock.now();
    let grace = chosen_grace(&form.grace_seconds)?;
    let (row, secret) =
        api_keys::rotate(&state.credentials(), &signed_in.principal, *id, grace).await?;
    key_issued(
        &signed_in,
        "Your rotated API key",
        KeyRow::new(row, now),
        secret.reveal(),
        vec![("Old key", until_text(now, grace))],
    )
}

pub async fn confirm_api_key_revocation(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let key = api_keys::get(&state.credentials(), &signed_in.principal, *id).await?;
    let row = KeyRow::new(key, state.clock.now());
    ok(&ConfirmPage {
        layout: signed_in.layout("api-keys"),
        heading: "Revoke this API key?",
        question: "Every worker or backend that sends this key will be refused from now on. This cannot be undone.",
        details: vec![
            ("Name", row.name.clone()),
            ("Key", row.display.clone()),
            ("Environment", row.environment.clone()),
            ("Last used", row.last_used.clone()),
        ],
        action: format!("/api-keys/{}/revoke", row.id),
        button: "Revoke key",
        cancel_href: "/api-keys".to_owned(),
    })
}

#[tracing::instrument(name = "web revoke api key", skip_all)]
pub async fn revoke_api_key(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    _form: CheckedForm<Confirmed>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    api_keys::revoke(&state.credentials(), &signed_in.principal, *id).await?;
    Ok(see_other("/api-keys?done=revoked"))
}
