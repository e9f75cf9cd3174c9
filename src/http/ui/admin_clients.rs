//! Admin pages for OAuth clients (machines using the client-credentials grant):
//! list and create (the secret shown once), change roles or token lifetime,
//! disable, rotate the secret with a grace period, delete.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::errors::UiError;
use super::forms::{
    checkbox, chosen_grace, first, form_status, role_choices, until_text, CheckedForm, Confirmed,
    FieldErrors, GraceForm, DEFAULT_GRACE_SECS, GRACE_CHOICES,
};
use super::frame::{Layout, SignedIn};
use super::pages::{
    ok, render, see_other, when, when_opt, ConfirmPage, ListQuery, Notice, SecretPage,
};
use crate::accounts::clients::{self, ClientUpdateInput, NewClientInput};
use crate::domain::Permission;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::clients::ClientRecord;

const PAGE_SIZE: u64 = 100;
const NOTICES: &[(&str, &str)] = &[
    (
        "saved",
        "The client was saved. Its tokens follow the change at once.",
    ),
    (
        "deleted",
        "The client was deleted. Its tokens stopped working at once.",
    ),
];

pub struct ClientRow {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub roles: Vec<String>,
    pub disabled: bool,
    /// The client's own access-token lifetime, or "" for the server default.
    pub token_ttl: String,
    pub created: String,
}

impl From<ClientRecord> for ClientRow {
    fn from(record: ClientRecord) -> Self {
        ClientRow {
            id: record.client.id,
            client_id: record.client.client_id,
            name: record.client.name,
            roles: record.roles,
            disabled: record.client.disabled,
            token_ttl: record
                .client
                .access_token_ttl_seconds
                .map(|s| s.to_string())
                .unwrap_or_default(),
            created: when(&record.client.created_at),
        }
    }
}

pub struct SecretRow {
    pub display: String,
    pub created: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "admin_clients.html")]
struct ClientsPage {
    layout: Layout,
    notice: &'static str,
    clients: Vec<ClientRow>,
    next: Option<String>,
    can_write: bool,
    name: String,
    token_ttl: String,
    roles: Vec<(String, bool)>,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "admin_client.html")]
struct ClientPage {
    layout: Layout,
    notice: &'static str,
    client: ClientRow,
    secrets: Vec<SecretRow>,
    can_write: bool,
    roles: Vec<(String, bool)>,
    grace_choices: [(i64, &'static str); 4],
    default_grace: i64,
    errors: FieldErrors,
}

/// What the client forms post (create and edit).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClientForm {
    #[serde(deserialize_with = "first")]
    name: String,
    #[serde(deserialize_with = "first")]
    access_token_ttl: String,
    roles: Vec<String>,
    #[serde(deserialize_with = "checkbox")]
    disabled: bool,
}

/// The optional token lifetime field: empty means the server's default.
fn token_ttl(form: &ClientForm) -> Result<Option<i64>, AppError> {
    match form.access_token_ttl.trim() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| AppError::validation("access_token_ttl_seconds", "a number of seconds")),
    }
}

struct KeptInput<'a> {
    name: &'a str,
    token_ttl: &'a str,
    roles: &'a [String],
}

async fn clients_page(
    signed_in: &SignedIn,
    state: &AppState,
    cursor: Option<Uuid>,
    notice: &'static str,
    kept: KeptInput<'_>,
    errors: FieldErrors,
) -> Result<HttpResponse, UiError> {
    let caller = &signed_in.principal;
    let page = clients::list(&state.accounts(), caller, cursor, PAGE_SIZE).await?;
    render(
        form_status(&errors),
        &ClientsPage {
            layout: signed_in.layout("clients"),
            notice,
            clients: page.items.into_iter().map(ClientRow::from).collect(),
            next: page.next_cursor,
            can_write: signed_in.principal.has(Permission::ClientsWrite),
            name: kept.name.to_owned(),
            token_ttl: kept.token_ttl.to_owned(),
            roles: role_choices(state, kept.roles).await?,
            errors,
        },
    )
}

pub async fn list_clients(
    signed_in: SignedIn,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let kept = KeptInput {
        name: "",
        token_ttl: "",
        roles: &[],
    };
    let notice = query.notice(NOTICES);
    clients_page(
        &signed_in,
        &state,
        query.cursor,
        notice,
        kept,
        FieldErrors::default(),
    )
    .await
}

fn secret_issued(
    signed_in: &SignedIn,
    heading: &str,
    client: &ClientRow,
    secret: &str,
    mut extra: Vec<(&'static str, String)>,
) -> Result<HttpResponse, UiError> {
    let mut details = vec![
        ("Client ID", client.client_id.clone()),
        ("Name", client.name.clone()),
        ("Roles", client.roles.join(", ")),
    ];
    details.append(&mut extra);
    let back = format!("/admin/clients/{}", client.id);
    render(
        StatusCode::CREATED,
        &SecretPage {
            layout: signed_in.layout("clients"),
            heading,
            intro: "The client exchanges its ID and this secret for access tokens at /oauth/token (client_secret_basic or client_secret_post).",
            secret_label: "Client secret",
            secret,
            details,
            back_href: &back,
            back_label: "I have stored it: back to the client",
        },
    )
}

#[tracing::instrument(name = "web create client", skip_all)]
pub async fn create_client(
    signed_in: SignedIn,
    CheckedForm(form): CheckedForm<ClientForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    signed_in.principal.require(Permission::ClientsWrite)?;
    let created = async {
        let input = NewClientInput {
            name: form.name.trim(),
            roles: &form.roles,
            access_token_ttl_seconds: token_ttl(&form)?,
        };
        clients::create(&state.accounts(), Some(&signed_in.principal), input).await
    }
    .await;
    match created {
        Ok((record, secret)) => secret_issued(
            &signed_in,
            "Client created",
            &ClientRow::from(record),
            secret.reveal(),
            vec![],
        ),
        Err(e) => {
            let errors = FieldErrors::default().absorb(e, "name")?;
            let kept = KeptInput {
                name: &form.name,
                token_ttl: &form.access_token_ttl,
                roles: &form.roles,
            };
            clients_page(&signed_in, &state, None, "", kept, errors).await
        }
    }
}

/// The client's page; after a refused change, with the admin's input kept.
async fn client_page(
    signed_in: &SignedIn,
    state: &AppState,
    id: Uuid,
    notice: &'static str,
    refused: Option<(ClientForm, FieldErrors)>,
) -> Result<HttpResponse, UiError> {
    let caller = &signed_in.principal;
    let record = clients::get(&state.accounts(), caller, id).await?;
    let secrets = clients::live_secrets(&state.accounts(), caller, id)
        .await?
        .into_iter()
        .map(|s| SecretRow {
            display: format!("{}…{}", s.display_prefix, s.last_chars),
            created: when(&s.created_at),
            expires: when_opt(&s.expires_at),
        })
        .collect();
    let mut client = ClientRow::from(record);
    let (ticked, errors) = match refused {
        Some((form, errors)) => {
            client.name = form.name;
            client.token_ttl = form.access_token_ttl;
            client.disabled = form.disabled;
            (form.roles, errors)
        }
        None => (client.roles.clone(), FieldErrors::default()),
    };
    let roles = role_choices(state, &ticked).await?;
    render(
        form_status(&errors),
        &ClientPage {
            layout: signed_in.layout("clients"),
            notice,
            client,
            secrets,
            can_write: signed_in.principal.has(Permission::ClientsWrite),
            roles,
            grace_choices: GRACE_CHOICES,
            default_grace: DEFAULT_GRACE_SECS,
            errors,
        },
    )
}

pub async fn show_client(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    notice: web::Query<Notice>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    let notice = notice.text(NOTICES);
    client_page(&signed_in, &state, *id, notice, None).await
}

#[tracing::instrument(name = "web update client", skip_all)]
pub async fn update_client(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    CheckedForm(form): CheckedForm<ClientForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    signed_in.principal.require(Permission::ClientsWrite)?;
    let saved = async {
        let input = ClientUpdateInput {
            name: Some(form.name.trim()),
            disabled: Some(form.disabled),
            roles: Some(&form.roles),
            access_token_ttl_seconds: Some(token_ttl(&form)?),
        };
        clients::update(&state.accounts(), &signed_in.principal, *id, input).await
    }
    .await;
    match saved {
        Ok(_) => Ok(see_other(&format!("/admin/clients/{id}?done=saved"))),
        Err(e) => {
            let errors = FieldErrors::default().absorb(e, "name")?;
            client_page(&signed_in, &state, *id, "", Some((form, errors))).await
        }
    }
}

#[tracing::instrument(name = "web rotate client secret", skip_all)]
pub async fn rotate_client_secret(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    CheckedForm(form): CheckedForm<GraceForm>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    signed_in.principal.require(Permission::ClientsWrite)?;
    let now = state.clock.now();
    let grace = chosen_grace(&form.grace_seconds)?;
    let actor = &signed_in.principal;
    // The secret is shown from what the rotation returned: a second query that
    // failed would lose a secret nobody can see again.
    let rotated = clients::rotate_secret(&state.accounts(), actor, *id, grace).await?;
    let (client, secret) = (ClientRow::from(rotated.client), rotated.secret);
    let extra = vec![("Previous secrets", until_text(now, grace))];
    secret_issued(
        &signed_in,
        "New client secret",
        &client,
        secret.reveal(),
        extra,
    )
}

pub async fn confirm_client_deletion(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    signed_in.principal.require(Permission::ClientsWrite)?;
    let record = clients::get(&state.accounts(), &signed_in.principal, *id).await?;
    let client = ClientRow::from(record);
    ok(&ConfirmPage {
        layout: signed_in.layout("clients"),
        heading: "Delete this client?",
        question: "Its secrets and every access token it holds stop working at once. This cannot be undone.",
        details: vec![
            ("Client ID", client.client_id.clone()),
            ("Name", client.name.clone()),
        ],
        action: format!("/admin/clients/{}/delete", client.id),
        button: "Delete client",
        cancel_href: format!("/admin/clients/{}", client.id),
    })
}

#[tracing::instrument(name = "web delete client", skip_all)]
pub async fn delete_client(
    signed_in: SignedIn,
    id: web::Path<Uuid>,
    _form: CheckedForm<Confirmed>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, UiError> {
    clients::delete(&state.accounts(), &signed_in.principal, *id).await?;
    Ok(see_other("/admin/clients?done=deleted"))
}
