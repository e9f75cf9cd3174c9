use crate::helpers::spawn_app;

#[tokio::test]
async fn the_admin_configured_at_start_can_log_in_and_see_itself() {
    let app = spawn_app().await;
    let me: serde_json::Value = app
        .get_me(&app.admin_auth().await)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["principal"]["name"], app.admin.username.as_str());
    assert_eq!(me["roles"], serde_json::json!(["admin"]));
}
