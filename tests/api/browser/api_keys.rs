//! The API keys page: creating a test key (shown once) and rotating it with no
//! grace period.

use serde_json::Value;

use super::harness::browse;
use super::row_link;
use crate::helpers::{random_string, spawn_app};

#[tokio::test]
async fn an_api_key_created_in_the_browser_works_and_rotating_it_now_retires_the_old_one() {
    browse(spawn_app(), |app, b| async move {
        b.sign_in(&app.admin.username, &app.admin.password).await;
        b.go("/api-keys").await;
        b.snap("api-keys-empty").await;
        let name = format!("billing-worker-{}", random_string(6).to_lowercase());
        b.fill("#key-name", &name).await;
        b.click("input[name=environment][value='test']").await;
        b.click_and_load("#create-key").await;

        let old_key = b.value("input#secret").await;
        assert!(
            old_key.starts_with("tri_test_"),
            "a test key is shown, got {old_key:?}"
        );
        b.snap("api-keys-created").await;
        let response = app.get_me(&format!("Api-Key {old_key}")).await;
        assert_eq!(response.status(), 200, "the new key works");
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["credential"]["kind"], "api_key");
        assert_eq!(me["credential"]["environment"], "test");
        assert_eq!(me["principal"]["id"], app.admin.id.as_str());

        b.go("/api-keys").await;
        b.find("#api-keys").await;
        assert!(
            !b.source().await.contains(&old_key),
            "the list hides the key"
        );
        b.snap("api-keys-list-one").await;
        b.click_xpath(&row_link("key-name", &name, "Rotate")).await;
        b.find("#rotate").await;
        b.snap("api-keys-rotate").await;
        b.click("input[name=grace_seconds][value='0']").await;
        b.click_and_load("#rotate").await;

        let new_key = b.value("input#secret").await;
        assert!(new_key.starts_with("tri_test_"), "the rotated key is shown");
        assert_ne!(new_key, old_key, "rotation issues a new key");
        b.snap("api-keys-rotated").await;
        assert_eq!(
            app.get_me(&format!("Api-Key {new_key}")).await.status(),
            200,
            "the new key works"
        );
        assert_eq!(
            app.get_me(&format!("Api-Key {old_key}")).await.status(),
            401,
            "the old key stopped at once"
        );

        b.go("/api-keys").await;
        b.find("#api-keys").await;
        let source = b.source().await;
        assert!(!source.contains(&new_key) && !source.contains(&old_key));
        b.snap("api-keys-after-rotation").await;
    })
    .await;
}
