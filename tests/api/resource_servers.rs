//! What a resource server sees of introspection: who may call it (a client
//! holding `tokens:introspect`, or a bearer credential with that scope) and
//! how a third-party client library, the `oauth2` crate, reads the answers.

use std::collections::BTreeSet;

use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenResponse, BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    IntrospectionUrl, RequestTokenError, StandardRevocableToken,
    StandardTokenIntrospectionResponse, TokenIntrospectionResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use trident::secret::{OpaqueSecret, SecretKind};

use crate::helpers::{client_basic_auth, jwt_claims, refresh_token_of, TestClient};
use crate::introspection::{
    api_key_auth, basic, client_token, create_key, fixture, set, strings, user_with_key, Fixture,
    Pairs,
};

// ---------------------------------------------------------------------------
// Who may ask
// ---------------------------------------------------------------------------

enum Expect {
    Active,
    Refused(u16, &'static str),
}

#[tokio::test]
async fn only_authenticated_callers_holding_tokens_introspect_may_ask() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let reader = app.seed_role_as(&admin, &["tokens:introspect"]).await;
    let jobs = app.seed_role_as(&admin, &["jobs:read"]).await;
    let outsider = app.seed_client_as(&admin, &[&jobs]).await;
    let admin_client = app.seed_client_as(&admin, &["admin"]).await;
    let (plain_user, target) = user_with_key(&app, &admin, &["user"]).await;
    let plain_session = app.auth_for(&plain_user).await;
    let (_, reader_key) = user_with_key(&app, &admin, &["user", &reader]).await;
    let revoked = create_key(&app, &plain_session, json!({"name": "gone"})).await;
    let response = app
        .delete(&format!("/api/v1/api-keys/{}", revoked.id), &plain_session)
        .await;
    assert_eq!(response.status(), 204);
    let introspector_m2m = client_token(&app, &introspector).await;
    let outsider_m2m = client_token(&app, &outsider).await;
    let elsewhere = app
        .post_token(
            Some(&basic(&introspector)),
            &[
                ("grant_type", "client_credentials"),
                ("resource", "https://jobs.example.com/"),
            ],
        )
        .await;
    assert_eq!(elsewhere.status(), 200);
    let elsewhere: Value = elsewhere.json().await.unwrap();
    let elsewhere = elsewhere["access_token"].as_str().unwrap().to_owned();
    let admin_refresh =
        refresh_token_of(&app.login_ok(&app.admin.username, &app.admin.password).await);
    let wrong_secret = OpaqueSecret::generate(SecretKind::ClientSecret)
        .reveal()
        .to_owned();

    let token = target.key.as_str();
    let authorization = |value: String| vec![("Authorization", value)];
    let posted = |client: &TestClient, secret: &str| {
        vec![
            ("client_id", client.client_id.clone()),
            ("client_secret", secret.to_owned()),
        ]
    };
    let none = Pairs::new;
    let cases: Vec<(&str, Pairs, Pairs, Expect)> = vec![
        (
            "an introspector client with client_secret_basic",
            authorization(basic(&introspector)),
            none(),
            Expect::Active,
        ),
        (
            "an introspector client with client_secret_post",
            none(),
            posted(&introspector, &introspector.client_secret),
            Expect::Active,
        ),
        (
            "a client holding the built-in admin role",
            authorization(basic(&admin_client)),
            none(),
            Expect::Active,
        ),
        (
            "the administrator's session token",
            authorization(admin.clone()),
            none(),
            Expect::Active,
        ),
        (
            "an introspector client's M2M token",
            authorization(format!("Bearer {introspector_m2m}")),
            none(),
            Expect::Active,
        ),
        (
            "a key whose owner may introspect, as Api-Key",
            authorization(api_key_auth(&reader_key.key)),
            none(),
            Expect::Active,
        ),
        (
            "a key whose owner may introspect, as X-API-Key",
            vec![("X-API-Key", reader_key.key.clone())],
            none(),
            Expect::Active,
        ),
        (
            "no credential",
            none(),
            none(),
            Expect::Refused(401, "invalid_client"),
        ),
        (
            "a wrong secret with client_secret_basic",
            authorization(client_basic_auth(&introspector.client_id, &wrong_secret)),
            none(),
            Expect::Refused(401, "invalid_client"),
        ),
        (
            "a wrong secret with client_secret_post",
            none(),
            posted(&introspector, &wrong_secret),
            Expect::Refused(401, "invalid_client"),
        ),
        (
            "an unknown client",
            authorization(client_basic_auth("cli_nobody", &wrong_secret)),
            none(),
            Expect::Refused(401, "invalid_client"),
        ),
        (
            "a revoked API key",
            authorization(api_key_auth(&revoked.key)),
            none(),
            Expect::Refused(401, "invalid_client"),
        ),
        (
            "a malformed bearer token",
            authorization("Bearer nonsense".into()),
            none(),
            Expect::Refused(401, "invalid_client"),
        ),
        (
            "a refresh token as bearer",
            authorization(format!("Bearer {admin_refresh}")),
            none(),
            Expect::Refused(401, "invalid_client"),
        ),
        (
            "an M2M token meant for another resource",
            authorization(format!("Bearer {elsewhere}")),
            none(),
            Expect::Refused(401, "invalid_client"),
        ),
        (
            "a client without tokens:introspect",
            authorization(basic(&outsider)),
            none(),
            Expect::Refused(403, "insufficient_scope"),
        ),
        (
            "that client's M2M token",
            authorization(format!("Bearer {outsider_m2m}")),
            none(),
            Expect::Refused(403, "insufficient_scope"),
        ),
        (
            "an API key without tokens:introspect",
            authorization(api_key_auth(&target.key)),
            none(),
            Expect::Refused(403, "insufficient_scope"),
        ),
        (
            "the same key as X-API-Key",
            vec![("X-API-Key", target.key.clone())],
            none(),
            Expect::Refused(403, "insufficient_scope"),
        ),
        (
            "a user session without tokens:introspect",
            authorization(plain_session.clone()),
            none(),
            Expect::Refused(403, "insufficient_scope"),
        ),
        (
            "Basic and client_secret together",
            authorization(basic(&introspector)),
            posted(&introspector, &introspector.client_secret),
            Expect::Refused(400, "invalid_request"),
        ),
        (
            "Basic and X-API-Key together",
            vec![
                ("Authorization", basic(&introspector)),
                ("X-API-Key", reader_key.key.clone()),
            ],
            none(),
            Expect::Refused(400, "invalid_request"),
        ),
        (
            "two Authorization headers",
            vec![
                ("Authorization", basic(&introspector)),
                ("Authorization", admin.clone()),
            ],
            none(),
            Expect::Refused(400, "invalid_request"),
        ),
    ];
    for (case, headers, params, expect) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let mut form: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
        form.push(("token", token));
        let response = app
            .post_form_to(&app.url("/oauth/introspect"), &headers, &form)
            .await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "case {case}: Cache-Control"
        );
        match expect {
            Expect::Active => {
                assert_eq!(status, 200, "case {case}: {body}");
                assert_eq!(body["active"], true, "case {case}: {body}");
                assert_eq!(body["credential_id"], target.id.as_str(), "case {case}");
            }
            Expect::Refused(want, error) => {
                assert_eq!(status, want, "case {case}: {body}");
                assert_eq!(body["error"], error, "case {case}: {body}");
                assert!(body.get("active").is_none(), "case {case}: {body}");
                if want == 401 {
                    assert!(
                        headers.get("www-authenticate").is_some(),
                        "case {case}: a challenge"
                    );
                }
            }
        }
    }

    for (case, form) in [
        ("no token", vec![]),
        ("an empty token", vec![("token", "")]),
    ] {
        let response = app
            .post_form_to(
                &app.url("/oauth/introspect"),
                &[("Authorization", &basic(&introspector))],
                &form,
            )
            .await;
        assert_eq!(response.status(), 400, "case {case}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "case {case}: {body}");
    }
}

// ---------------------------------------------------------------------------
// A third-party resource server: the `oauth2` crate
// ---------------------------------------------------------------------------

/// Trident's RFC 7662 extensions, as a resource server would declare them.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct TridentExtensions {
    principal: Option<Value>,
    #[serde(default)]
    roles: Vec<String>,
    environment: Option<String>,
    credential_id: Option<String>,
}

impl ExtraTokenFields for TridentExtensions {}

type ExtendedIntrospection = StandardTokenIntrospectionResponse<TridentExtensions, BasicTokenType>;

type ExtendedClient = oauth2::Client<
    BasicErrorResponse,
    BasicTokenResponse,
    ExtendedIntrospection,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
>;

/// A reqwest client for the `oauth2` crate: no redirects, as its docs require.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_oauth2_crates_introspection_client_understands_every_answer() {
    let Fixture {
        app,
        admin,
        introspector,
    } = fixture().await;
    let jobs = app.seed_role_as(&admin, &["jobs:read", "jobs:write"]).await;
    let machine = app.seed_client_as(&admin, &[&jobs]).await;
    let m2m = client_token(&app, &machine).await;
    let m2m_claims = jwt_claims(&m2m);
    let (user, key) = user_with_key(&app, &admin, &["user"]).await;
    let me: Value = app
        .get_me(&api_key_auth(&key.key))
        .await
        .json()
        .await
        .unwrap();
    let key_scopes = strings(&me["scopes"]);
    let unknown = OpaqueSecret::generate(SecretKind::LiveApiKey)
        .reveal()
        .to_owned();
    let url = IntrospectionUrl::new(app.url("/oauth/introspect")).unwrap();
    let http = http_client();
    let scope_set = |scopes: Option<&Vec<oauth2::Scope>>| -> BTreeSet<String> {
        scopes
            .unwrap()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()
    };

    for auth in [AuthType::BasicAuth, AuthType::RequestBody] {
        let case = format!("{auth:?}");
        let resource_server = BasicClient::new(ClientId::new(introspector.client_id.clone()))
            .set_client_secret(ClientSecret::new(introspector.client_secret.clone()))
            .set_introspection_url(url.clone())
            .set_auth_type(auth);

        let answer = resource_server
            .introspect(&AccessToken::new(m2m.clone()))
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{case}: introspecting an M2M token: {e:?}"));
        assert!(answer.active(), "{case}");
        assert_eq!(
            scope_set(answer.scopes()),
            set(&["jobs:read", "jobs:write"]),
            "{case}"
        );
        assert_eq!(answer.sub(), Some(machine.client_id.as_str()), "{case}");
        assert_eq!(
            answer.client_id().map(|c| c.as_str()),
            Some(machine.client_id.as_str()),
            "{case}"
        );
        assert_eq!(
            answer.token_type(),
            Some(&BasicTokenType::Extension("access_token".into())),
            "{case}"
        );
        assert_eq!(
            answer.exp().map(|t| t.timestamp()),
            m2m_claims["exp"].as_i64(),
            "{case}"
        );
        assert_eq!(
            answer.iat().map(|t| t.timestamp()),
            m2m_claims["iat"].as_i64(),
            "{case}"
        );
        assert_eq!(answer.jti(), m2m_claims["jti"].as_str(), "{case}");
        assert_eq!(answer.iss(), Some(app.address.as_str()), "{case}");
        assert_eq!(answer.aud(), Some(&vec![app.address.clone()]), "{case}");
        assert_eq!(answer.username(), None, "{case}");

        let answer = resource_server
            .introspect(&AccessToken::new(key.key.clone()))
            .set_token_type_hint("access_token")
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{case}: introspecting an API key: {e:?}"));
        assert!(answer.active(), "{case}");
        assert_eq!(scope_set(answer.scopes()), key_scopes, "{case}");
        assert_eq!(answer.sub(), Some(user.id.as_str()), "{case}");
        assert_eq!(answer.username(), Some(user.username.as_str()), "{case}");
        assert_eq!(
            answer.token_type(),
            Some(&BasicTokenType::Extension("api_key".into())),
            "{case}"
        );
        assert_eq!(answer.exp(), None, "{case}: the key never expires");

        let answer = resource_server
            .introspect(&AccessToken::new(unknown.clone()))
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{case}: introspecting an unknown key: {e:?}"));
        assert!(!answer.active(), "{case}");
        assert!(
            answer.scopes().is_none() && answer.sub().is_none(),
            "{case}"
        );
    }

    // Trident's extensions, declared as the crate allows.
    let extended: ExtendedClient =
        oauth2::Client::new(ClientId::new(introspector.client_id.clone()))
            .set_client_secret(ClientSecret::new(introspector.client_secret.clone()))
            .set_introspection_url(url.clone());
    let answer = extended
        .introspect(&AccessToken::new(key.key.clone()))
        .request_async(&http)
        .await
        .unwrap();
    let extensions = answer.extra_fields();
    assert_eq!(
        extensions.principal,
        Some(json!({"type": "user", "id": user.id, "name": user.username}))
    );
    assert_eq!(extensions.roles, vec!["user".to_owned()]);
    assert_eq!(extensions.environment.as_deref(), Some("live"));
    assert_eq!(extensions.credential_id.as_deref(), Some(key.id.as_str()));
    let answer = extended
        .introspect(&AccessToken::new(m2m.clone()))
        .request_async(&http)
        .await
        .unwrap();
    let extensions = answer.extra_fields();
    assert_eq!(
        extensions.principal,
        Some(json!({"type": "client", "id": machine.client_id, "name": machine.name}))
    );
    assert_eq!(extensions.roles, vec![jobs.clone()]);
    assert_eq!(extensions.environment, None);
    assert_eq!(
        extensions.credential_id.as_deref(),
        m2m_claims["jti"].as_str()
    );

    // A resource server with a wrong secret learns why, in the crate's own terms.
    let wrong = BasicClient::new(ClientId::new(introspector.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            OpaqueSecret::generate(SecretKind::ClientSecret)
                .reveal()
                .to_owned(),
        ))
        .set_introspection_url(url);
    match wrong
        .introspect(&AccessToken::new(m2m.clone()))
        .request_async(&http)
        .await
    {
        Err(RequestTokenError::ServerResponse(error)) => {
            assert_eq!(error.error(), &BasicErrorResponseType::InvalidClient)
        }
        other => panic!("a wrong secret should be invalid_client, got {other:?}"),
    }
}
