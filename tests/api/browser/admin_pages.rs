//! The admin pages in a real browser: a user's whole life (created with a first
//! API key, given a role, disabled, deleted), a role whose permissions narrow its
//! holders' credentials at once, a client's secret rotated and the client
//! disabled, the audit log's filters, and a plain user kept out of all of it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::{json, Value};

use super::harness::{browse, xpath_literal, Browser, DESKTOP, PHONE};
use crate::helpers::{random_string, spawn_app, TestApp};

#[tokio::test]
async fn an_admin_creates_a_user_with_a_working_key_then_adds_a_role_disables_and_deletes_them() {
    browse(spawn_app(), |app, b| async move {
        let admin = app.admin_auth().await;
        let extra_role = app.seed_role_as(&admin, &["jobs:read"]).await;

        b.sign_in(&app.admin.username, &app.admin.password).await;
        b.go("/admin/users").await;
        b.find("#create-user-form").await;
        assert_eq!(page_status(&b).await, 200);
        b.snap("admin-users-list").await;

        let username = format!("carol-{}", random_string(6).to_lowercase());
        b.fill("#new-username", &username).await;
        b.fill("#new-password", &random_string(20)).await;
        let user_box = "#create-user-form input[name=roles][value='user']";
        if !is_checked(&b, user_box).await {
            b.click(user_box).await;
        }
        assert!(is_checked(&b, user_box).await, "role user is ticked");
        b.snap("admin-users-create-filled").await;
        b.click_and_load("#create-user").await;

        // The result page: the first API key, once.
        let key = b.value("input#secret").await;
        assert!(!key.is_empty(), "the new user's first API key is shown");
        assert_eq!(page_status(&b).await, 201);
        assert!(b.source().await.contains(&username), "the page names the user");
        b.snap("admin-user-created").await;
        let response = app.get_me(&format!("Api-Key {key}")).await;
        assert_eq!(response.status(), 200, "the first API key works");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["principal"]["name"], username.as_str());
        assert_eq!(me["credential"]["kind"], "api_key");
        assert_eq!(me["roles"], json!(["user"]));

        // Open the user from the list.
        b.go("/admin/users").await;
        let link = format!(
            "//table[@id='users']//td[@data-label='Username']/a[normalize-space(.)={}]",
            xpath_literal(&username)
        );
        let href = b
            .find_xpath(&link)
            .await
            .attr("href")
            .await
            .unwrap()
            .unwrap_or_default();
        let user_id = href
            .strip_prefix("/admin/users/")
            .unwrap_or_else(|| panic!("a link to the user's page, got {href:?}"))
            .to_owned();
        assert!(!b.source().await.contains(&key), "the list hides the key");
        b.click_xpath(&link).await;
        b.find("#update-user-form").await;
        assert_eq!(b.path().await, format!("/admin/users/{user_id}"));
        assert_eq!(b.text("main h1").await, username);
        b.snap("admin-user-edit").await;

        // An extra role.
        let extra_box = format!("#update-user-form input[name=roles][value='{extra_role}']");
        assert!(!is_checked(&b, &extra_box).await, "not held yet");
        b.click(&extra_box).await;
        b.click_and_load("#save-user").await;
        let notice = b.text(".notice.ok").await;
        assert!(
            notice.contains("The changes were saved"),
            "the saved notice, got {notice:?}"
        );
        assert!(is_checked(&b, &extra_box).await, "the role is held now");
        assert!(
            is_checked(&b, "#update-user-form input[name=roles][value='user']").await,
            "and the old one kept"
        );
        b.snap("admin-user-saved").await;
        let me: Value = app
            .get_me(&format!("Api-Key {key}"))
            .await
            .json()
            .await
            .unwrap();
        assert!(
            scopes_of(&me).contains("jobs:read"),
            "the key follows the new role at once: {me}"
        );

        b.go("/admin/users").await;
        let chips = b
            .find_xpath(&format!(
                "//table[@id='users']//tr[td[@data-label='Username'][normalize-space(.)={}]]/td[@data-label='Roles']",
                xpath_literal(&username)
            ))
            .await;
        let chip_texts = texts(
            chips
                .find_all(Locator::Css("span.chip"))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            chip_texts.iter().map(String::as_str).collect::<BTreeSet<_>>(),
            BTreeSet::from([extra_role.as_str(), "user"]),
            "the list shows both role chips"
        );
        b.snap("admin-users-list-role-chip").await;

        // Disabled: the key is refused.
        b.click_xpath(&link).await;
        b.find("#update-user-form").await;
        b.click("#update-user-form input[name=disabled]").await;
        b.click_and_load("#save-user").await;
        b.find("main p.lead .badge.disabled").await;
        assert!(b.text(".notice.ok").await.contains("The changes were saved"));
        assert!(is_checked(&b, "#update-user-form input[name=disabled]").await);
        b.snap("admin-user-disabled").await;
        assert_eq!(
            app.get_me(&format!("Api-Key {key}")).await.status(),
            401,
            "a disabled user's key is refused"
        );

        // Deleted, after a confirmation.
        b.click_xpath("//a[normalize-space(.)='Delete user…']").await;
        b.find("#confirm").await;
        assert_eq!(b.path().await, format!("/admin/users/{user_id}/delete"));
        assert!(
            b.source().await.contains(&username),
            "the confirmation names the user"
        );
        b.snap("confirm-delete-user").await;
        b.click_and_load("#confirm").await;
        let notice = b.text(".notice.ok").await;
        assert!(notice.contains("were deleted"), "got {notice:?}");
        assert_eq!(b.path().await, "/admin/users");
        let left = b
            .client()
            .find_all(Locator::XPath(&link))
            .await
            .unwrap();
        assert!(left.is_empty(), "the user is gone from the list");
        assert!(
            b.find("table#users")
                .await
                .text()
                .await
                .unwrap()
                .contains(&app.admin.username),
            "the list still shows the others"
        );
        b.snap("admin-users-after-delete").await;
        assert_eq!(
            app.get(&format!("/api/v1/users/{user_id}"), &admin)
                .await
                .status(),
            404,
            "the API agrees"
        );

        b.set_size(PHONE).await;
        b.go("/admin/users").await;
        b.find("table#users").await;
        b.snap("phone-admin-users").await;
        assert_fits_sideways(&b, "/admin/users").await;
        b.set_size(DESKTOP).await;
    })
    .await;
}

#[tokio::test]
async fn a_role_made_in_the_browser_widens_its_holders_and_narrowing_it_bites_at_once() {
    browse(spawn_app(), |app, b| async move {
        let admin = app.admin_auth().await;
        // So that jobs:read is a known permission, offered as a checkbox.
        app.seed_role_as(&admin, &["jobs:read"]).await;
        let holder = app.seed_user_as(&admin, &["user"]).await;

        b.sign_in(&app.admin.username, &app.admin.password).await;
        b.go("/admin/roles").await;
        b.find("#create-role-form").await;
        b.snap("admin-roles-list").await;

        // A name with a space: the field error, everything typed kept.
        b.fill("#role-name", "job runner").await;
        b.fill("#role-description", "Runs the nightly jobs").await;
        b.click("#create-role-form input[name=permissions][value='jobs:read']")
            .await;
        b.fill("#other-permissions", "jobs:write").await;
        b.click_and_load("#create-role").await;
        let error = b.text("#create-role-form .field.invalid .error").await;
        assert!(
            error.contains("lowercase"),
            "the name's error, got {error:?}"
        );
        let field = b
            .find_xpath(
                "//div[contains(@class,'invalid')][.//input[@id='role-name']]//div[@class='error']",
            )
            .await;
        assert_eq!(field.text().await.unwrap(), error, "next to the name field");
        assert_eq!(page_status(&b).await, 422);
        assert_eq!(
            b.value("#role-name").await,
            "job runner",
            "the name is kept"
        );
        assert_eq!(b.value("#role-description").await, "Runs the nightly jobs");
        assert_eq!(b.value("#other-permissions").await, "jobs:write");
        assert!(
            is_checked(
                &b,
                "#create-role-form input[name=permissions][value='jobs:read']"
            )
            .await,
            "the ticked permission stays ticked"
        );
        b.snap("admin-roles-name-error").await;

        let role = format!("job-runner-{}", random_string(6).to_lowercase());
        b.fill("#role-name", &role).await;
        b.click_and_load("#create-role").await;
        let notice = b.text(".notice.ok").await;
        assert!(notice.contains("The role was created"), "got {notice:?}");
        assert_eq!(b.path().await, format!("/admin/roles/{role}"));
        assert_eq!(b.text("main h1").await, format!("Role {role}"));
        let write_box = "#update-role-form input[name=permissions][value='jobs:write']";
        let read_box = "#update-role-form input[name=permissions][value='jobs:read']";
        assert!(
            is_checked(&b, read_box).await,
            "the ticked permission is held"
        );
        assert!(
            is_checked(&b, write_box).await,
            "the typed one is now a ticked checkbox"
        );
        assert_eq!(b.value("#other-permissions").await, "");
        assert_eq!(b.value("#role-description").await, "Runs the nightly jobs");
        b.snap("admin-role-edit").await;

        let response = app
            .patch_json(
                &format!("/api/v1/users/{}", holder.id),
                &admin,
                &json!({ "roles": ["user", role] }),
            )
            .await;
        assert_eq!(response.status(), 200, "the role is given through the API");
        let holder_auth = app.auth_for(&holder).await;
        let me: Value = app.get_me(&holder_auth).await.json().await.unwrap();
        let scopes = scopes_of(&me);
        assert!(
            scopes.contains("jobs:write") && scopes.contains("jobs:read"),
            "the holder has the role's permissions: {me}"
        );

        b.click(write_box).await;
        b.click_and_load("#save-role").await;
        let notice = b.text(".notice.ok").await;
        assert!(notice.contains("The role was saved"), "got {notice:?}");
        assert!(is_checked(&b, read_box).await, "jobs:read kept");
        let write_boxes = b.client().find_all(Locator::Css(write_box)).await.unwrap();
        for checkbox in write_boxes {
            assert!(
                !checkbox.is_selected().await.unwrap(),
                "jobs:write unticked"
            );
        }
        b.snap("admin-role-saved").await;

        let me: Value = app.get_me(&holder_auth).await.json().await.unwrap();
        let scopes = scopes_of(&me);
        assert!(
            !scopes.contains("jobs:write"),
            "the same access token lost jobs:write at once: {me}"
        );
        assert!(scopes.contains("jobs:read"), "and kept jobs:read: {me}");

        b.go("/admin/roles").await;
        let row = b
            .find_xpath(&format!(
                "//table[@id='roles']//tr[td[@data-label='Role']/a[normalize-space(.)={}]]",
                xpath_literal(&role)
            ))
            .await;
        let row_text = row.text().await.unwrap();
        assert!(row_text.contains("jobs:read") && !row_text.contains("jobs:write"));
        b.snap("admin-roles-list-after").await;
    })
    .await;
}

#[tokio::test]
async fn rotating_a_client_secret_now_retires_the_old_one_and_disabling_the_client_stops_the_new() {
    browse(spawn_app(), |app, b| async move {
        let admin = app.admin_auth().await;
        let role = app.seed_role_as(&admin, &["jobs:read"]).await;
        let client = app.seed_client_as(&admin, &[&role]).await;
        let old_secret = client.client_secret.clone();
        assert_eq!(
            client_token(&app, &client.client_id, &old_secret)
                .await
                .status(),
            200,
            "the first secret works"
        );

        b.sign_in(&app.admin.username, &app.admin.password).await;
        b.go(&format!("/admin/clients/{}", client.id)).await;
        b.find("#rotate-secret-form").await;
        assert_eq!(b.text("main h1").await, client.name);
        assert!(b.text("main p.lead").await.contains(&client.client_id));
        assert!(
            !b.source().await.contains(&old_secret),
            "the page never shows a secret"
        );
        let secret_rows = b
            .client()
            .find_all(Locator::Css("#client-secrets tbody tr"))
            .await
            .unwrap();
        assert_eq!(secret_rows.len(), 1, "one working secret");
        b.snap("admin-client-detail").await;

        b.click("#rotate-secret-form input[name=grace_seconds][value='0']")
            .await;
        b.click_and_load("#rotate-secret").await;
        let new_secret = b.value("input#secret").await;
        assert!(new_secret.starts_with("tri_cs_"), "got {new_secret:?}");
        assert_ne!(new_secret, old_secret);
        assert_eq!(page_status(&b).await, 201);
        b.snap("admin-client-rotated").await;

        let response = client_token(&app, &client.client_id, &new_secret).await;
        assert_eq!(response.status(), 200, "the new secret gets a token");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "jobs:read");
        assert_invalid_client(
            client_token(&app, &client.client_id, &old_secret).await,
            "the old secret after a rotation with no grace",
        )
        .await;

        b.click_and_load("#done").await;
        b.find("#update-client-form").await;
        assert_eq!(b.path().await, format!("/admin/clients/{}", client.id));
        assert!(!b.source().await.contains(&new_secret));
        let secret_rows = b
            .client()
            .find_all(Locator::Css("#client-secrets tbody tr"))
            .await
            .unwrap();
        assert_eq!(secret_rows.len(), 1, "only the new secret still works");
        b.snap("admin-client-after-rotation").await;

        b.click("#update-client-form input[name=disabled]").await;
        b.click_and_load("#save-client").await;
        b.find("main p.lead .badge.disabled").await;
        let notice = b.text(".notice.ok").await;
        assert!(notice.contains("The client was saved"), "got {notice:?}");
        b.snap("admin-client-disabled").await;
        assert_invalid_client(
            client_token(&app, &client.client_id, &new_secret).await,
            "the new secret of a disabled client",
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_filters_by_kind_and_actor_and_shows_failed_sign_ins() {
    browse(spawn_app(), |app, b| async move {
        // Sign-ins: the API logins of spawn_app and this one, a failure, the browser's.
        let _ = app.admin_auth().await;
        let failed = app.login(&app.admin.username, "not-the-password").await;
        assert_eq!(failed.status(), 401);
        b.sign_in(&app.admin.username, &app.admin.password).await;
        b.go("/tokens").await;
        b.find("#mint-form").await;

        b.go("/admin/audit").await;
        b.find("#audit-filter").await;
        b.snap("admin-audit").await;
        let unfiltered = event_rows(&b).await;
        assert!(
            unfiltered.iter().any(|e| e.kind != "user.login"),
            "unfiltered, other kinds show too (the admin's creation)"
        );

        b.find("#filter-action")
            .await
            .select_by_value("user.login")
            .await
            .unwrap();
        b.fill("#filter-actor", &app.admin.username).await;
        b.click_and_load("#apply-filter").await;
        wait_for_query(&b, "action=user.login").await;
        let rows = event_rows(&b).await;
        assert!(
            rows.len() >= 3,
            "three successful sign-ins of the admin at least, got {rows:?}"
        );
        for row in &rows {
            assert_eq!(row.kind, "user.login", "{row:?}");
            assert_eq!(row.outcome, "success", "{row:?}");
            assert_eq!(row.actor, format!("user {}", app.admin.username), "{row:?}");
        }
        assert_eq!(b.value("#filter-actor").await, app.admin.username, "kept");
        assert_eq!(b.value("#filter-action").await, "user.login", "kept");
        b.snap("admin-audit-filtered").await;

        // Kind only: the failed sign-in (which has no actor) shows too.
        b.fill("#filter-actor", "").await;
        b.click_and_load("#apply-filter").await;
        wait_for_query(&b, "actor=&").await;
        let rows = event_rows(&b).await;
        for row in &rows {
            assert_eq!(row.kind, "user.login", "{row:?}");
        }
        let failures: Vec<_> = rows.iter().filter(|r| r.outcome == "failure").collect();
        assert_eq!(failures.len(), 1, "one failed sign-in, got {rows:?}");
        assert!(
            failures[0].details.contains(&app.admin.username),
            "the failure names the username tried: {:?}",
            failures[0]
        );
        assert!(
            rows.len() > failures.len(),
            "and the successes: {rows:?}"
        );
        b.snap("admin-audit-kind-only").await;

        // An impossible date: the field's error, and no events.
        b.go("/admin/audit?since=2026-13-45").await;
        let error = b.text("#audit-filter .field.invalid .error").await;
        assert_eq!(error, "a date as YYYY-MM-DD");
        let field = b
            .find_xpath("//div[contains(@class,'invalid')][.//input[@id='filter-since']]//div[@class='error']")
            .await;
        assert_eq!(field.text().await.unwrap(), error, "next to the From field");
        assert_eq!(page_status(&b).await, 422);
        assert_eq!(
            b.text("#audit-events tbody").await,
            "No events match.",
            "no events for a bad filter"
        );
        b.snap("admin-audit-bad-date").await;

        b.set_size(PHONE).await;
        b.go("/admin/audit").await;
        b.find("#audit-events").await;
        b.snap("phone-admin-audit").await;
        assert_fits_sideways(&b, "/admin/audit").await;
        b.set_size(DESKTOP).await;
    })
    .await;
}

#[tokio::test]
async fn a_plain_user_sees_no_admin_links_and_gets_the_403_page_on_admin_pages() {
    browse(spawn_app(), |app, b| async move {
        let plain = app.seed_user_as(&app.admin_auth().await, &["user"]).await;
        b.sign_in(&plain.username, &plain.password).await;
        b.find("#mint-form").await;
        let links = b
            .client()
            .find_all(Locator::Css("header nav a"))
            .await
            .unwrap();
        let mut hrefs = Vec::new();
        for link in links {
            hrefs.push(link.attr("href").await.unwrap().unwrap_or_default());
        }
        assert_eq!(
            hrefs,
            ["/tokens", "/api-keys"],
            "only the self-service sections"
        );
        assert!(
            b.client()
                .find_all(Locator::Css("header nav .sep"))
                .await
                .unwrap()
                .is_empty(),
            "no separator before absent admin links"
        );
        b.snap("plain-user-tokens").await;

        for (page, scope) in [
            ("/admin/users", "users:read"),
            ("/admin/roles", "roles:read"),
            ("/admin/clients", "clients:read"),
            ("/admin/audit", "audit:read"),
        ] {
            b.go(page).await;
            let message = b.text("#error-message").await;
            assert_eq!(page_status(&b).await, 403, "{page}");
            assert_eq!(b.text("main h1").await, "Forbidden", "{page}");
            assert!(message.contains(scope), "{page}: {message:?}");
            if page == "/admin/users" {
                b.snap("error-403-admin-users").await;
            }
        }
    })
    .await;
}

/// The HTTP status of the document the browser shows (Chromium's Navigation Timing).
async fn page_status(b: &Browser) -> u64 {
    b.client()
        .execute(
            "const nav = performance.getEntriesByType('navigation')[0]; return nav ? nav.responseStatus : 0;",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(0)
}

async fn is_checked(b: &Browser, css: &str) -> bool {
    b.find(css).await.is_selected().await.unwrap()
}

async fn texts(elements: Vec<fantoccini::elements::Element>) -> Vec<String> {
    let mut out = Vec::new();
    for element in elements {
        out.push(element.text().await.unwrap());
    }
    out
}

fn scopes_of(me: &Value) -> BTreeSet<String> {
    me["scopes"]
        .as_array()
        .unwrap_or_else(|| panic!("scopes in {me}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits until the address bar's query holds `fragment` (a GET form was submitted).
async fn wait_for_query(b: &Browser, fragment: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = b.client().current_url().await.unwrap();
        if url.query().unwrap_or_default().contains(fragment) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the query never held {fragment:?}: {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Debug)]
struct EventRow {
    kind: String,
    outcome: String,
    actor: String,
    details: String,
}

/// The rows of the audit table (after the page has loaded).
async fn event_rows(b: &Browser) -> Vec<EventRow> {
    b.find("#audit-events").await;
    let rows = b
        .client()
        .find_all(Locator::Css("#audit-events tbody tr"))
        .await
        .unwrap();
    let mut events = Vec::new();
    for row in rows {
        let cell = |label: &'static str| {
            let row = row.clone();
            async move {
                row.find(Locator::Css(&format!("td[data-label='{label}']")))
                    .await
                    .unwrap_or_else(|e| panic!("a {label} cell: {e}"))
                    .text()
                    .await
                    .unwrap()
            }
        };
        events.push(EventRow {
            kind: cell("Kind").await,
            // The badge is shown in capitals (CSS); compare the word.
            outcome: cell("Outcome").await.to_lowercase(),
            actor: cell("Actor").await,
            details: cell("Details").await,
        });
    }
    events
}

/// `client_credentials` with `client_secret_post`.
async fn client_token(app: &TestApp, client_id: &str, secret: &str) -> reqwest::Response {
    app.post_token(
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ],
    )
    .await
}

async fn assert_invalid_client(response: reqwest::Response, case: &str) {
    assert_eq!(response.status(), 401, "{case}: status");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{case}: {body}");
}

/// The page is no wider than the window (a wide table may scroll inside its box).
async fn assert_fits_sideways(b: &Browser, page: &str) {
    let overflow = b
        .client()
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(0) <= 0,
        "{page} scrolls sideways on a phone by {overflow}px"
    );
}
