//! Building the application: state, the one route table, the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer, Resource, Route};
use anyhow::Context;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::accounts;
use crate::clock::Clock;
use crate::config::Settings;
use crate::credentials::changes::{Change, ChangeNotifier, Forget, CHANGES_CHANNEL, HEARTBEAT};
use crate::credentials::InspectionCache;
use crate::http::api::{
    api_keys, audit, auth, clients, leaked, me, personal_access_tokens as pats, roles, users,
};
use crate::http::{self, middleware, oauth, ops, problem, well_known};
use crate::infra::metrics::Metrics;
use crate::infra::throttle::{LoginThrottle, RateLimiter};
use crate::keys::{KeyRing, MasterKey};
use crate::oauth::client_authentication::ClientCache;
use crate::secret::password::PasswordHasher;
use crate::state::AppState;
use crate::store::{browser_sessions, revoked_jtis, Db};
use sqlx::postgres::PgListener;

/// Largest JSON body any endpoint accepts.
pub const JSON_LIMIT_BYTES: usize = 16 * 1024;
const KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(60);
const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(10);
const LISTEN_RETRY: Duration = Duration::from_secs(1);
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// How long the credential cache may answer after the last notification arrived.
const HEARTBEAT_DEADLINE: chrono::Duration = chrono::Duration::seconds(3);
/// How long a listener may stay silent before it is replaced.
const HEARTBEAT_WAIT: Duration = Duration::from_secs(3);

/// Connects, migrates, loads the signing keys and creates the configured admin.
pub async fn build_state(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    let db = Db::connect(&settings.database).await?;
    db.migrate().await?;
    let db_is_sqlite = db.postgres().is_none();
    let master = MasterKey::load(&settings.master_key).context("loading the master key")?;
    let keys = KeyRing::load_or_create(db.write(), master, settings.signing_algorithm, clock.now())
        .await?;
    // PostgreSQL: off until this node listens for other nodes' changes.
    let caching = db_is_sqlite && settings.credential_cache;
    // Most of the memory for credentials; clients are few.
    let bytes = settings.credential_cache_bytes;
    let inspections = Arc::new(InspectionCache::new(caching, bytes - bytes / 16)?);
    let clients = Arc::new(ClientCache::new(caching, bytes / 16)?);
    let forgetters: Vec<Arc<dyn Forget>> = vec![inspections.clone(), clients.clone()];
    let state = AppState {
        db,
        keys: Arc::new(keys),
        hasher: PasswordHasher::new(settings.password_hash_concurrency)?,
        clock,
        logins: LoginThrottle::per_minute(settings.login_attempts_per_minute),
        reports_limiter: RateLimiter::per_minute(settings.login_attempts_per_minute),
        client_auth_limiter: RateLimiter::per_minute(settings.client_auth_failures_per_minute),
        introspection_limiter: RateLimiter::per_minute(settings.introspections_per_minute),
        metrics: Metrics::default(),
        usage: Default::default(),
        inspections: inspections.clone(),
        clients: clients.clone(),
        changes: ChangeNotifier::new(!db_is_sqlite, forgetters),
        settings: Arc::new(settings),
    };
    accounts::users::bootstrap_admin(&state.accounts())
        .await
        .map_err(|e| anyhow::anyhow!("creating the initial administrator: {e}"))?;
    Ok(state)
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let local = listener.local_addr()?;
        let port = local.port();
        let settings = settings.bound_to(local);
        let workers = settings.workers;
        let state = web::Data::new(build_state(settings, clock).await?);
        let server = run(listener, state.clone(), workers)?;
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The issuer the server answers as (a derived one names the port actually bound).
    pub fn issuer(&self) -> &str {
        &self.state.settings.issuer
    }

    /// Serves until SIGINT/SIGTERM, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let reload = tokio::spawn(maintain_periodically(self.state.clone()));
        let flush = tokio::spawn(flush_usage_periodically(self.state.clone()));
        let listen = tokio::spawn(listen_for_changes(self.state.clone()));
        let heartbeat = tokio::spawn(send_heartbeats(self.state.clone()));
        let result = self.server.await;
        reload.abort();
        flush.abort();
        listen.abort();
        heartbeat.abort();
        flush_usage(&self.state).await;
        result
    }
}

/// Keeps this node's credential cache honest when several nodes share PostgreSQL:
/// every `NOTIFY` names what changed and the caches forget exactly that, and while no `LISTEN` connection is up the cache is
/// bypassed (fail closed), because a notification could be missed. A listener
/// that stops without an error (a stopped backend, a half-open connection, a
/// middlebox dropping it) is caught by the heartbeats: each notification that
/// arrives lets the cache answer for [`HEARTBEAT_DEADLINE`] more, and a listener
/// that hears nothing for that long is dropped and replaced.
async fn listen_for_changes(state: web::Data<AppState>) {
    let Some(pool) = state.db.postgres().cloned() else {
        return;
    };
    loop {
        match listen(&pool).await {
            Ok(mut listener) => {
                state.trust_credential_caches_until(state.clock.now() + HEARTBEAT_DEADLINE);
                state.set_credential_caches(state.settings.credential_cache);
                let why = loop {
                    match tokio::time::timeout(HEARTBEAT_WAIT, listener.try_recv()).await {
                        // Notifications arrive in commit order: this one proves that
                        // every change committed before it has arrived too.
                        Ok(Ok(Some(notification))) => {
                            state.trust_credential_caches_until(
                                state.clock.now() + HEARTBEAT_DEADLINE,
                            );
                            if notification.payload() != HEARTBEAT {
                                state.changes.forget(&Change::decode(notification.payload()));
                            }
                        }
                        // `try_recv` answers `Ok(None)` when the connection was lost.
                        Ok(Ok(None)) | Ok(Err(_)) => break "lost the PostgreSQL LISTEN connection",
                        Err(_) => break "no notification (not even a heartbeat) arrived in time: the LISTEN connection stalled",
                    }
                };
                state.set_credential_caches(false);
                tracing::warn!("{why}; credential cache bypassed until a listener is back");
            }
            Err(e) => tracing::warn!(error = %e, "connecting the PostgreSQL listener failed"),
        }
        tokio::time::sleep(LISTEN_RETRY).await;
    }
}

/// A listener on [`CHANGES_CHANNEL`]. The server probes its socket with TCP
/// keepalives, so a middlebox keeps the idle path open and a dead peer is
/// dropped on the server's side (the heartbeat catches it on ours).
async fn listen(pool: &sqlx::PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    for setting in [
        "SET tcp_keepalives_idle = 10",
        "SET tcp_keepalives_interval = 5",
        "SET tcp_keepalives_count = 3",
    ] {
        sqlx::Executor::execute(&mut listener, setting).await?;
    }
    listener.listen(CHANGES_CHANNEL).await?;
    Ok(listener)
}

/// Sends this node's heartbeat on [`CHANGES_CHANNEL`] every [`HEARTBEAT_INTERVAL`]:
/// what proves to every listener, this node's included, that notifications still flow.
async fn send_heartbeats(state: web::Data<AppState>) {
    let Some(pool) = state.db.postgres().cloned() else {
        return;
    };
    let mut interval = tokio::time::interval(HEARTBEAT_INTERVAL);
    loop {
        interval.tick().await;
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGES_CHANNEL)
            .bind(HEARTBEAT)
            .execute(&pool)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "sending the heartbeat failed");
        }
    }
}

/// Writes last-used times in batches instead of once per request.
async fn flush_usage_periodically(state: web::Data<AppState>) {
    let mut interval = tokio::time::interval(USAGE_FLUSH_INTERVAL);
    loop {
        interval.tick().await;
        flush_usage(&state).await;
    }
}

async fn flush_usage(state: &AppState) {
    if let Err(e) = state.usage.flush(state.db.write()).await {
        tracing::warn!(error = %e, "writing last-used times failed");
    }
}

/// Picks up signing keys rotated by another node (or the CLI), and forgets
/// revoked JWT ids whose tokens have expired and web UI sessions that have.
async fn maintain_periodically(state: web::Data<AppState>) {
    let mut interval = tokio::time::interval(KEY_RELOAD_INTERVAL);
    interval.tick().await;
    loop {
        interval.tick().await;
        let now = state.clock.now();
        if let Err(e) = state.keys.reload(state.db.read(), now).await {
            tracing::warn!(error = %e, "reloading signing keys failed");
        }
        // Revoked JWT ids are only needed until the tokens would have expired anyway.
        if let Err(e) = revoked_jtis::prune(state.db.write(), now).await {
            tracing::warn!(error = %e, "pruning the JWT deny-list failed");
        }
        if let Err(e) = browser_sessions::prune(state.db.write(), now).await {
            tracing::warn!(error = %e, "pruning expired web UI sessions failed");
        }
    }
}

fn run(
    listener: TcpListener,
    state: web::Data<AppState>,
    workers: usize,
) -> anyhow::Result<Server> {
    let openapi = http::docs::ApiDoc::openapi();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(JSON_LIMIT_BYTES)
                    .error_handler(problem::json_error),
            )
            .app_data(web::PathConfig::default().error_handler(problem::path_error))
            .app_data(web::QueryConfig::default().error_handler(problem::query_error))
            // Innermost first: bare framework errors get a body, then UI error pages
            // the signed-in frame, before headers are added.
            .wrap(from_fn(middleware::problem_for_bare_errors))
            .wrap(from_fn(http::ui::error_page::frame_errors))
            .wrap(from_fn(middleware::security_headers))
            .wrap(from_fn(middleware::observe))
            .configure(routes)
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api-docs/openapi.json", openapi.clone()))
            .default_service(web::to(http::fallback::not_found))
    })
    .workers(workers)
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Where the management API lives.
const API_PREFIX: &str = "/api/v1";

/// A resource named by its pattern: the label metrics and logs know it by
/// (`HttpRequest::match_name`, which costs no allocation).
fn resource(pattern: &str) -> Resource {
    web::resource(pattern).name(pattern)
}

/// A resource answering one method; other methods get 405 with `Allow`.
fn one(pattern: &str, route: Route) -> Resource {
    resource(pattern).route(route)
}

/// A resource of the management API, named by its whole pattern.
fn api_resource(pattern: &str) -> Resource {
    web::resource(pattern).name(&format!("{API_PREFIX}{pattern}"))
}

fn api_one(pattern: &str, route: Route) -> Resource {
    api_resource(pattern).route(route)
}

/// The one route table. actix tries resources in the order they are
/// registered, and a pattern with a `{segment}` costs a regular-expression
/// match: the protocol endpoints and the API (whose dynamic patterns sit inside
/// the `/api/v1` scope, skipped by a prefix comparison) come before the web
/// UI's pages, so a resource server's introspection or a worker's API call is
/// matched without trying a page's pattern. No path is served by two of them.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(one("/healthz", web::get().to(ops::check_health)))
        .service(one("/readyz", web::get().to(ops::check_readiness)))
        .service(one("/metrics", web::get().to(ops::export_metrics)))
        .service(one(
            "/.well-known/jwks.json",
            web::get().to(well_known::get_jwks),
        ))
        .service(one(
            "/.well-known/oauth-authorization-server",
            web::get().to(oauth::get_metadata),
        ))
        .service(one("/oauth/token", web::post().to(oauth::issue_token)))
        .service(one(
            "/oauth/introspect",
            web::post().to(oauth::introspect_token),
        ))
        .service(one("/oauth/revoke", web::post().to(oauth::revoke_token)))
        .service(one(
            "/docs",
            web::get().to(|| async {
                HttpResponse::MovedPermanently()
                    .insert_header(("Location", "/docs/"))
                    .finish()
            }),
        ))
        .service(
            web::scope(API_PREFIX)
                .service(api_one(
                    "/auth/token",
                    web::post().to(auth::issue_session_token),
                ))
                .service(api_one(
                    "/auth/token/refresh",
                    web::post().to(auth::refresh_session_token),
                ))
                .service(api_one(
                    "/auth/logout",
                    web::post().to(auth::revoke_session),
                ))
                .service(api_one(
                    "/auth/register",
                    web::post().to(users::register_user),
                ))
                .service(api_one(
                    "/auth/logout-all",
                    web::post().to(auth::revoke_all_sessions),
                ))
                .service(api_one("/me", web::get().to(me::get_me)))
                .service(api_one(
                    "/credentials/revoke",
                    web::post().to(leaked::revoke_leaked_credentials),
                ))
                .service(
                    api_resource("/users")
                        .route(web::get().to(users::list_users))
                        .route(web::post().to(users::create_user)),
                )
                .service(
                    api_resource("/users/{id}")
                        .route(web::get().to(users::get_user))
                        .route(web::patch().to(users::update_user))
                        .route(web::delete().to(users::delete_user)),
                )
                .service(
                    api_resource("/roles")
                        .route(web::get().to(roles::list_roles))
                        .route(web::post().to(roles::create_role)),
                )
                .service(
                    api_resource("/roles/{name}")
                        .route(web::get().to(roles::get_role))
                        .route(web::put().to(roles::replace_role))
                        .route(web::delete().to(roles::delete_role)),
                )
                .service(
                    api_resource("/api-keys")
                        .route(web::get().to(api_keys::list_api_keys))
                        .route(web::post().to(api_keys::create_api_key)),
                )
                .service(
                    api_resource("/api-keys/{id}")
                        .route(web::get().to(api_keys::get_api_key))
                        .route(web::delete().to(api_keys::revoke_api_key)),
                )
                .service(
                    api_resource("/personal-access-tokens")
                        .route(web::get().to(pats::list_pats))
                        .route(web::post().to(pats::create_pat)),
                )
                .service(
                    api_resource("/personal-access-tokens/{id}")
                        .route(web::get().to(pats::get_pat))
                        .route(web::delete().to(pats::revoke_pat)),
                )
                .service(api_one(
                    "/api-keys/{id}/rotate",
                    web::post().to(api_keys::rotate_api_key),
                ))
                .service(
                    api_resource("/clients")
                        .route(web::get().to(clients::list_clients))
                        .route(web::post().to(clients::create_client)),
                )
                .service(
                    api_resource("/clients/{id}")
                        .route(web::get().to(clients::get_client))
                        .route(web::patch().to(clients::update_client))
                        .route(web::delete().to(clients::delete_client)),
                )
                .service(api_one(
                    "/clients/{id}/secrets",
                    web::post().to(clients::rotate_client_secret),
                ))
                .service(api_one(
                    "/audit-events",
                    web::get().to(audit::list_audit_events),
                )),
        );
    ui_routes(cfg);
}

/// The web UI's pages: a GET shows, a POST (a form with its CSRF token) acts.
fn ui_routes(cfg: &mut web::ServiceConfig) {
    use http::ui::{
        account, admin_audit, admin_clients, admin_roles, admin_users, api_keys as keys,
    };
    use http::ui::{assets, tokens};
    let page = |path: &str, get: Route, post: Route| ui_resource(path).route(get).route(post);
    cfg.service(one(
        "/static/trident.css",
        web::get().to(assets::get_stylesheet),
    ))
    .service(one("/static/trident.js", web::get().to(assets::get_script)))
    .service(one("/", web::get().to(account::show_home)))
    .service(page(
        "/login",
        web::get().to(account::show_login),
        web::post().to(account::sign_in),
    ))
    .service(one("/logout", web::post().to(account::sign_out)))
    .service(page(
        "/register",
        web::get().to(account::show_registration),
        web::post().to(account::register),
    ))
    .service(page(
        "/tokens",
        web::get().to(tokens::list_tokens),
        web::post().to(tokens::mint_token),
    ))
    .service(page(
        "/tokens/{id}/revoke",
        web::get().to(tokens::confirm_token_revocation),
        web::post().to(tokens::revoke_token),
    ))
    .service(page(
        "/api-keys",
        web::get().to(keys::list_api_keys),
        web::post().to(keys::create_api_key),
    ))
    .service(page(
        "/api-keys/{id}/rotate",
        web::get().to(keys::show_rotation),
        web::post().to(keys::rotate_api_key),
    ))
    .service(page(
        "/api-keys/{id}/revoke",
        web::get().to(keys::confirm_api_key_revocation),
        web::post().to(keys::revoke_api_key),
    ))
    .service(page(
        "/admin/users",
        web::get().to(admin_users::list_users),
        web::post().to(admin_users::create_user),
    ))
    .service(page(
        "/admin/users/{id}",
        web::get().to(admin_users::show_user),
        web::post().to(admin_users::update_user),
    ))
    .service(page(
        "/admin/users/{id}/delete",
        web::get().to(admin_users::confirm_user_deletion),
        web::post().to(admin_users::delete_user),
    ))
    .service(page(
        "/admin/roles",
        web::get().to(admin_roles::list_roles),
        web::post().to(admin_roles::create_role),
    ))
    .service(page(
        "/admin/roles/{name}",
        web::get().to(admin_roles::show_role),
        web::post().to(admin_roles::update_role),
    ))
    .service(page(
        "/admin/roles/{name}/delete",
        web::get().to(admin_roles::confirm_role_deletion),
        web::post().to(admin_roles::delete_role),
    ))
    .service(page(
        "/admin/clients",
        web::get().to(admin_clients::list_clients),
        web::post().to(admin_clients::create_client),
    ))
    .service(page(
        "/admin/clients/{id}",
        web::get().to(admin_clients::show_client),
        web::post().to(admin_clients::update_client),
    ))
    .service(
        ui_resource("/admin/clients/{id}/secrets")
            .route(web::post().to(admin_clients::rotate_client_secret)),
    )
    .service(page(
        "/admin/clients/{id}/delete",
        web::get().to(admin_clients::confirm_client_deletion),
        web::post().to(admin_clients::delete_client),
    ))
    .service(ui_resource("/admin/audit").route(web::get().to(admin_audit::list_audit_events)));
}

/// A UI resource: a malformed path or query gets an HTML error page, not problem+json.
fn ui_resource(path: &str) -> Resource {
    resource(path)
        .app_data(web::PathConfig::default().error_handler(http::ui::errors::path_error))
        .app_data(web::QueryConfig::default().error_handler(http::ui::errors::query_error))
}
