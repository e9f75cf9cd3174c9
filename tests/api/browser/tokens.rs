//! The Tokens page: minting a personal access token (shown once), revoking it,
//! and names that look like markup.

use serde_json::{json, Value};

use super::harness::browse;
use super::{fill_mint_form, row_link};
use crate::helpers::{assert_unauthenticated, random_string, spawn_app};

#[tokio::test]
async fn a_pat_minted_in_the_browser_has_exactly_its_scope_is_shown_once_and_can_be_revoked() {
    browse(spawn_app(), |app, b| async move {
        b.sign_in(&app.admin.username, &app.admin.password).await;
        let name = format!("laptop-{}", random_string(6));
        fill_mint_form(&b, &name, "tokens:read", "7").await;
        b.snap("tokens-mint-form-filled").await;
        b.click_and_load("#generate").await;

        let secret = b.value("input#secret").await;
        assert!(
            secret.starts_with("tri_pat_"),
            "the result page shows the token, got {secret:?}"
        );
        b.snap("tokens-minted").await;

        let response = app.get_me(&format!("Bearer {secret}")).await;
        assert_eq!(response.status(), 200, "the new token works");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["scopes"], json!(["tokens:read"]), "exactly the one scope ticked");
        assert_eq!(me["credential"]["kind"], "personal_access_token");
        assert_eq!(me["principal"]["id"], app.admin.id.as_str());

        // Shown once: never again on the list, fresh or reloaded.
        b.click_and_load("#done").await;
        b.find("#tokens").await;
        assert_eq!(b.path().await, "/tokens");
        assert!(!b.source().await.contains(&secret), "the list hides the secret");
        b.go("/tokens").await;
        b.refresh().await;
        b.find("#tokens").await;
        assert!(
            !b.source().await.contains(&secret),
            "a reload of the list hides the secret"
        );
        let status = b
            .find_xpath(&format!(
                "//tr[td[@class='token-name'][normalize-space(.)='{name}']]//span[contains(@class, 'badge')]"
            ))
            .await;
        assert_eq!(status.text().await.unwrap().to_lowercase(), "active");
        b.snap("tokens-list-one").await;

        b.click_xpath(&row_link("token-name", &name, "Revoke")).await;
        b.find("#confirm").await;
        assert!(
            b.source().await.contains(&name),
            "the confirmation names the token"
        );
        b.snap("tokens-revoke-confirm").await;
        b.click_and_load("#confirm").await;
        b.find("#tokens").await;
        assert_eq!(b.path().await, "/tokens");
        assert!(b.source().await.contains("The token was revoked."));
        let status = b
            .find_xpath(&format!(
                "//tr[td[@class='token-name'][normalize-space(.)='{name}']]//span[contains(@class, 'badge')]"
            ))
            .await;
        assert_eq!(status.text().await.unwrap().to_lowercase(), "revoked");
        b.snap("tokens-revoked").await;

        let refused = app.get_me(&format!("Bearer {secret}")).await;
        assert_unauthenticated(refused, "a revoked PAT").await;
    })
    .await;
}

#[tokio::test]
async fn a_token_name_that_looks_like_a_script_is_shown_as_text_and_never_runs() {
    const NAME: &str = "<script>alert(1)</script>";
    browse(spawn_app(), |app, b| async move {
        b.sign_in(&app.admin.username, &app.admin.password).await;
        fill_mint_form(&b, NAME, "tokens:read", "7").await;
        b.click_and_load("#generate").await;
        b.find("input#secret").await;
        assert!(
            b.client().get_alert_text().await.is_err(),
            "no alert on the result page"
        );

        b.go("/tokens").await;
        let cell = b.find("#tokens td.token-name").await;
        assert_eq!(cell.text().await.unwrap(), NAME, "the name reads as typed");
        assert!(
            b.client().get_alert_text().await.is_err(),
            "no alert on the list"
        );
        let source = b.source().await;
        assert!(
            source.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "the name is escaped in the page"
        );
        assert!(!source.contains(NAME), "the name never appears as markup");
        b.snap("tokens-script-name").await;
    })
    .await;
}
