//! The admin pages: registering an OAuth client, whose secret then works at the
//! token endpoint with a third-party OAuth2 library.

use std::collections::BTreeSet;

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, TokenResponse, TokenUrl};

use super::harness::{browse, xpath_literal};
use crate::helpers::{jwt_claims, random_string, spawn_app};

#[tokio::test]
async fn an_oauth_client_registered_in_the_browser_gets_tokens_with_its_role() {
    browse(spawn_app(), |app, b| async move {
        let admin = app.admin_auth().await;
        let role = app.seed_role_as(&admin, &["jobs:read", "jobs:write"]).await;

        b.sign_in(&app.admin.username, &app.admin.password).await;
        b.go("/admin/clients").await;
        b.find("#create-client-form").await;
        b.snap("admin-clients-empty").await;
        let name = format!("reporting-{}", random_string(6).to_lowercase());
        b.fill("#create-client-form input#client-name", &name).await;
        b.click(&format!(
            "#create-client-form input[name=roles][value={}]",
            css_string(&role)
        ))
        .await;
        b.click_and_load("#create-client").await;

        let secret = b.value("input#secret").await;
        assert!(
            secret.starts_with("tri_cs_"),
            "the client secret is shown, got {secret:?}"
        );
        let client_id = b
            .find_xpath("//dl//dt[normalize-space(.)='Client ID']/following-sibling::dd[1]")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            client_id.starts_with("cli_"),
            "the client id is shown, got {client_id:?}"
        );
        b.snap("admin-client-created").await;

        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let token = BasicClient::new(ClientId::new(client_id.clone()))
            .set_client_secret(ClientSecret::new(secret.clone()))
            .set_token_uri(TokenUrl::new(app.url("/oauth/token")).unwrap())
            .set_auth_type(AuthType::BasicAuth)
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("the new client gets a token: {e:?}"));
        let claims = jwt_claims(token.access_token().secret());
        assert_eq!(claims["client_id"], client_id.as_str());
        let scopes: BTreeSet<&str> = claims["scope"]
            .as_str()
            .unwrap_or_default()
            .split(' ')
            .collect();
        assert_eq!(
            scopes,
            BTreeSet::from(["jobs:read", "jobs:write"]),
            "the token carries the role's permissions"
        );

        // The list shows the client, never its secret.
        b.go("/admin/clients").await;
        let row = b
            .find_xpath(&format!(
                "//table[@id='clients']//tr[td[normalize-space(.)={}]]",
                xpath_literal(&client_id)
            ))
            .await;
        assert!(row.text().await.unwrap().contains(&name));
        assert!(
            !b.source().await.contains(&secret),
            "the list hides the secret"
        );
        b.snap("admin-clients-one").await;
    })
    .await;
}

/// A CSS attribute value in double quotes (role names are plain, but be safe).
fn css_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
