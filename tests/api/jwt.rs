//! JWT access tokens (RFC 9068) and the JWKS: independent verification, and forgeries
//! the server must refuse.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use ring::rand::SystemRandom;
use ring::signature::Ed25519KeyPair;
use serde_json::{json, Value};

use crate::helpers::jwt::{assemble, b64, fresh_es256_key, jwks, now, sign};
use crate::helpers::{assert_unauthenticated, jwt_claims, jwt_segment, spawn_app};

#[tokio::test]
async fn access_tokens_verify_independently_against_the_published_jwks() {
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let token = tokens["access_token"].as_str().unwrap();
    let jwks = jwks(&app).await;

    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "RFC 9068 §2.1 typ");
    assert_eq!(header.alg, Algorithm::ES256);
    let kid = header.kid.expect("a kid");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} is published in {jwks}"));
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    let key =
        DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the signature verifies with the published key")
        .claims;

    assert_eq!(claims["sub"], app.admin.id.as_str());
    assert!(
        claims["iss"].as_str().is_some_and(|s| !s.is_empty()),
        "iss: {claims}"
    );
    let aud_ok = match &claims["aud"] {
        Value::String(s) => !s.is_empty(),
        Value::Array(all) => !all.is_empty(),
        _ => false,
    };
    assert!(aud_ok, "aud: {claims}");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert!(
        (claims["iat"].as_i64().unwrap() - now()).abs() < 60,
        "iat is now"
    );
    assert!(
        claims["jti"].as_str().is_some_and(|s| !s.is_empty()),
        "jti: {claims}"
    );
    assert_eq!(claims["client_id"], "trident");
    let scope = claims["scope"].as_str().expect("scope is a string");
    let me: Value = app
        .get_me(&format!("Bearer {token}"))
        .await
        .json()
        .await
        .unwrap();
    let mut from_token: Vec<&str> = scope.split(' ').collect();
    from_token.sort();
    let mut from_me: Vec<&str> = me["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    from_me.sort();
    assert_eq!(
        from_token, from_me,
        "scope is the space-delimited list of the user's scopes"
    );
    assert_eq!(claims["roles"], json!(["admin"]));
    let other = app.login_ok(&app.admin.username, &app.admin.password).await;
    assert_ne!(
        jwt_claims(other["access_token"].as_str().unwrap())["jti"],
        claims["jti"],
        "every token has its own jti"
    );
}

#[tokio::test]
async fn the_issuer_claim_is_the_address_the_server_answers_on() {
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;

    let claims = jwt_claims(tokens["access_token"].as_str().unwrap());

    assert_eq!(claims["iss"], app.address.as_str());
}

#[tokio::test]
async fn the_jwks_publishes_public_keys_only() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/jwk-set+json"),
        "content type {content_type}"
    );
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().expect("a keys array");
    assert!(!keys.is_empty(), "at least one key");
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert!(
                key.get(private).is_none(),
                "member {private} must not be published: {key}"
            );
        }
        assert!(key["kid"].is_string(), "every key has a kid: {key}");
        assert!(key["kty"].is_string(), "every key has a kty: {key}");
    }
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let app = spawn_app().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let real = tokens["access_token"].as_str().unwrap().to_owned();
    let header = jwt_segment(&real, 0);
    let claims = jwt_claims(&real);
    let kid = header["kid"].as_str().unwrap().to_owned();
    let (header_segment, _) = real.split_once('.').unwrap();
    let signature = real.rsplit('.').next().unwrap().to_owned();
    // Only the claims change: the original header bytes and signature are kept.
    let tamper = |claims: &Value| {
        format!(
            "{header_segment}.{}.{signature}",
            b64(claims.to_string().as_bytes())
        )
    };
    let jwks = jwks(&app).await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap()
        .clone();
    let mut widened = claims.clone();
    widened["roles"] = json!(["admin", "superuser"]);
    widened["exp"] = json!(now() + 86_400 * 365);
    let mut other_sub = claims.clone();
    other_sub["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let ed25519 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();

    let cases = [
        ("tampered payload", tamper(&widened)),
        ("tampered subject", tamper(&other_sub)),
        ("signature stripped", assemble(&header, &claims, "")),
        (
            "alg none",
            assemble(
                &json!({ "alg": "none", "typ": "at+jwt", "kid": kid }),
                &claims,
                "",
            ),
        ),
        (
            "alg None",
            assemble(
                &json!({ "alg": "None", "typ": "at+jwt", "kid": kid }),
                &claims,
                "",
            ),
        ),
        (
            "HS256 keyed with the public JWK",
            sign(
                Algorithm::HS256,
                Some(&kid),
                Some("at+jwt"),
                &claims,
                &EncodingKey::from_secret(jwk.to_string().as_bytes()),
            ),
        ),
        (
            "HS256 keyed with the public x coordinate",
            sign(
                Algorithm::HS256,
                Some(&kid),
                Some("at+jwt"),
                &claims,
                &EncodingKey::from_secret(jwk["x"].as_str().unwrap().as_bytes()),
            ),
        ),
        (
            "HS256 keyed with the kid",
            sign(
                Algorithm::HS256,
                Some(&kid),
                Some("at+jwt"),
                &claims,
                &EncodingKey::from_secret(kid.as_bytes()),
            ),
        ),
        (
            "HS256 keyed with an empty secret",
            sign(
                Algorithm::HS256,
                Some(&kid),
                Some("at+jwt"),
                &claims,
                &EncodingKey::from_secret(b""),
            ),
        ),
        (
            "another ES256 key under the real kid",
            sign(
                Algorithm::ES256,
                Some(&kid),
                Some("at+jwt"),
                &claims,
                &fresh_es256_key(),
            ),
        ),
        (
            "an EdDSA key under the real kid",
            sign(
                Algorithm::EdDSA,
                Some(&kid),
                Some("at+jwt"),
                &claims,
                &EncodingKey::from_ed_der(ed25519.as_ref()),
            ),
        ),
        (
            "an unknown kid",
            sign(
                Algorithm::ES256,
                Some("not-a-key-we-know"),
                Some("at+jwt"),
                &claims,
                &fresh_es256_key(),
            ),
        ),
        (
            "a kid that is SQL",
            sign(
                Algorithm::ES256,
                Some("' OR '1'='1"),
                Some("at+jwt"),
                &claims,
                &fresh_es256_key(),
            ),
        ),
        (
            "no kid",
            sign(
                Algorithm::ES256,
                None,
                Some("at+jwt"),
                &claims,
                &fresh_es256_key(),
            ),
        ),
        (
            "typ JWT from another key",
            sign(
                Algorithm::ES256,
                Some(&kid),
                Some("JWT"),
                &claims,
                &fresh_es256_key(),
            ),
        ),
        ("the signature of another token", {
            let other = app.login_ok(&app.admin.username, &app.admin.password).await;
            let other = other["access_token"].as_str().unwrap().to_owned();
            let (_, other_signature) = other.rsplit_once('.').unwrap();
            let (unsigned, _) = real.rsplit_once('.').unwrap();
            format!("{unsigned}.{other_signature}")
        }),
    ];
    for (case, token) in &cases {
        assert_unauthenticated(app.get_me(&format!("Bearer {token}")).await, case).await;
    }
    assert_eq!(
        app.get_me(&format!("Bearer {real}")).await.status(),
        200,
        "the real token still works"
    );
}

#[tokio::test]
async fn tokens_signed_with_the_real_key_are_still_checked_claim_by_claim() {
    let app = spawn_app().await;
    let (kid, key) = app.active_signing_key().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let claims = jwt_claims(tokens["access_token"].as_str().unwrap());
    let other_user = app.seed_user(&["admin"]).await;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut changed = claims.clone();
        change(&mut changed);
        changed
    };
    let sign_real =
        |typ: Option<&str>, claims: &Value| sign(Algorithm::ES256, Some(&kid), typ, claims, &key);

    // The forging works: an unchanged re-signed token is accepted.
    let control = sign_real(Some("at+jwt"), &claims);
    assert_eq!(
        app.get_me(&format!("Bearer {control}")).await.status(),
        200,
        "the re-signed original"
    );

    let cases = [
        ("typ JWT", sign_real(Some("JWT"), &claims)),
        ("no typ", sign_real(None, &claims)),
        (
            "another issuer",
            sign_real(
                Some("at+jwt"),
                &with(&|c| c["iss"] = json!("https://evil.example")),
            ),
        ),
        (
            "expired an hour ago",
            sign_real(
                Some("at+jwt"),
                &with(&|c| {
                    c["iat"] = json!(now() - 4_200);
                    c["exp"] = json!(now() - 3_600);
                }),
            ),
        ),
        (
            "issued an hour from now",
            sign_real(
                Some("at+jwt"),
                &with(&|c| {
                    c["iat"] = json!(now() + 3_600);
                    c["exp"] = json!(now() + 4_200);
                }),
            ),
        ),
        (
            "not before an hour from now",
            sign_real(Some("at+jwt"), &with(&|c| c["nbf"] = json!(now() + 3_600))),
        ),
        (
            "no exp",
            sign_real(
                Some("at+jwt"),
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
            ),
        ),
        (
            "no session id",
            sign_real(
                Some("at+jwt"),
                &with(&|c| {
                    c.as_object_mut().unwrap().remove("sid");
                }),
            ),
        ),
        (
            "an unknown session id",
            sign_real(
                Some("at+jwt"),
                &with(&|c| c["sid"] = json!(uuid::Uuid::new_v4().to_string())),
            ),
        ),
        (
            "another user's subject in this session",
            sign_real(Some("at+jwt"), &with(&|c| c["sub"] = json!(other_user.id))),
        ),
        (
            "a subject that is no UUID",
            sign_real(Some("at+jwt"), &with(&|c| c["sub"] = json!("admin"))),
        ),
        (
            "another client_id",
            sign_real(
                Some("at+jwt"),
                &with(&|c| c["client_id"] = json!("someone-else")),
            ),
        ),
    ];
    for (case, token) in &cases {
        assert_unauthenticated(app.get_me(&format!("Bearer {token}")).await, case).await;
    }
}

#[tokio::test]
async fn a_token_claiming_more_scopes_than_its_user_holds_gets_only_the_users() {
    let app = spawn_app().await;
    let (kid, key) = app.active_signing_key().await;
    let user = app.seed_user(&["user"]).await;
    let tokens = app.login_ok(&user.username, &user.password).await;
    let mut claims = jwt_claims(tokens["access_token"].as_str().unwrap());
    let held = claims["scope"].clone();
    claims["scope"] = json!(format!("{} users:read users:write", held.as_str().unwrap()));
    claims["roles"] = json!(["admin"]);

    let token = sign(Algorithm::ES256, Some(&kid), Some("at+jwt"), &claims, &key);

    let auth = format!("Bearer {token}");
    let me: Value = app.get_me(&auth).await.json().await.unwrap();
    assert!(
        !me["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("users:write")),
        "scopes {me}"
    );
    assert_eq!(
        me["roles"],
        json!(["user"]),
        "roles come from the database, not the token"
    );
    assert_eq!(app.get("/api/v1/users", &auth).await.status(), 403);
}

#[tokio::test]
async fn a_token_with_critical_or_key_carrying_header_parameters_is_refused() {
    let app = spawn_app().await;
    let (kid, key) = app.active_signing_key().await;
    let tokens = app.login_ok(&app.admin.username, &app.admin.password).await;
    let claims = jwt_claims(tokens["access_token"].as_str().unwrap());
    // Signs exactly this header (any members) with the server's own key.
    let signed = |extra: Value| {
        let mut header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": kid });
        for (name, value) in extra.as_object().unwrap() {
            header[name] = value.clone();
        }
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::ES256).unwrap();
        format!("{input}.{signature}")
    };
    assert_eq!(
        app.get_me(&format!("Bearer {}", signed(json!({}))))
            .await
            .status(),
        200,
        "the same header without extras is accepted"
    );
    for (case, extra) in [
        (
            "crit naming an unknown extension",
            json!({ "crit": ["x"], "x": 1 }),
        ),
        ("crit naming a registered claim", json!({ "crit": ["exp"] })),
        (
            "unencoded payload (b64)",
            json!({ "b64": false, "crit": ["b64"] }),
        ),
        ("b64 without crit", json!({ "b64": true })),
        ("zip", json!({ "zip": "DEF" })),
        ("an embedded key", json!({ "jwk": { "kty": "EC" } })),
        ("a key URL", json!({ "jku": "https://evil.example/jwks" })),
        ("a certificate chain", json!({ "x5c": ["MIIB"] })),
        (
            "a certificate URL",
            json!({ "x5u": "https://evil.example/cert" }),
        ),
    ] {
        let token = signed(extra);
        assert_unauthenticated(app.get_me(&format!("Bearer {token}")).await, case).await;
    }
}
