//! Forged M2M tokens: tampered, re-signed or borrowed, and refused at Trident's API.

use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

use super::{access_token, bearer, fixture, me, set, strings, token_ok, Fixture};
// `sign(alg, kid, claims, key)` here always signs an `at+jwt` header with a kid.
use crate::helpers::jwt::{assemble, b64, jwk_for, jwks, now, sign_access_token as sign};
use crate::helpers::{assert_unauthenticated, jwt_claims, jwt_segment};

#[tokio::test]
async fn forged_m2m_tokens_are_refused() {
    let Fixture {
        app,
        admin,
        role,
        client,
    } = fixture().await;
    let real = access_token(&token_ok(&app, &client, &[("scope", "jobs:read")]).await).to_owned();
    let header = jwt_segment(&real, 0);
    let claims = jwt_claims(&real);
    let kid = header["kid"].as_str().unwrap().to_owned();
    let jwks = jwks(&app).await;
    let jwk = jwk_for(&jwks, &kid).clone();
    let (header_segment, _) = real.split_once('.').unwrap();
    let (unsigned, signature) = real.rsplit_once('.').unwrap();
    let tamper = |claims: &Value| {
        format!(
            "{header_segment}.{}.{signature}",
            b64(claims.to_string().as_bytes())
        )
    };
    let mut widened = claims.clone();
    widened["scope"] = json!("jobs:read jobs:write users:write");
    widened["roles"] = json!(["admin"]);
    let other = app.seed_client_as(&admin, &[&role]).await;
    let mut impersonating = claims.clone();
    impersonating["sub"] = json!(other.client_id);
    impersonating["client_id"] = json!(other.client_id);
    let other_token = access_token(&token_ok(&app, &other, &[]).await).to_owned();
    let (_, other_signature) = other_token.rsplit_once('.').unwrap();

    // The server's real key signs these, so only the claim under test is wrong.
    let (real_kid, real_key) = app.active_signing_key().await;
    assert_eq!(real_kid, kid);
    let resign = |change: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        change(&mut c);
        sign(Algorithm::ES256, &kid, &c, &real_key)
    };
    let control = resign(&|c| c["jti"] = json!(uuid::Uuid::new_v4().to_string()));
    assert_eq!(
        app.get_me(&bearer(&control)).await.status(),
        200,
        "a token re-signed with the real key and unchanged claims is accepted"
    );

    let cases = [
        ("tampered scope and roles", tamper(&widened)),
        ("tampered subject", tamper(&impersonating)),
        ("signature stripped", format!("{unsigned}.")),
        (
            "another token's signature",
            format!("{unsigned}.{other_signature}"),
        ),
        (
            "alg none",
            assemble(
                &json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
                &claims,
                "",
            ),
        ),
        (
            "HS256 keyed with the public JWK",
            sign(
                Algorithm::HS256,
                &kid,
                &claims,
                &EncodingKey::from_secret(jwk.to_string().as_bytes()),
            ),
        ),
        (
            "HS256 keyed with the JWK's x coordinate",
            sign(
                Algorithm::HS256,
                &kid,
                &claims,
                &EncodingKey::from_secret(jwk["x"].as_str().unwrap().as_bytes()),
            ),
        ),
        (
            "an unknown kid",
            sign(Algorithm::ES256, "no-such-key", &claims, &real_key),
        ),
        (
            "expired",
            resign(&|c| {
                c["iat"] = json!(now() - 2_000);
                c["exp"] = json!(now() - 1_000);
            }),
        ),
        (
            "issued in the future",
            resign(&|c| {
                c["iat"] = json!(now() + 3_600);
                c["exp"] = json!(now() + 4_000);
            }),
        ),
        (
            "another issuer",
            resign(&|c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "sub differs from client_id",
            resign(&|c| c["sub"] = json!(other.client_id)),
        ),
        (
            "a client that does not exist",
            resign(&|c| {
                let ghost = format!("cli_{}", crate::helpers::random_string(24));
                c["sub"] = json!(ghost);
                c["client_id"] = json!(ghost);
            }),
        ),
        (
            "an audience other than Trident",
            resign(&|c| c["aud"] = json!("https://compute.example")),
        ),
        (
            "the client secret as a bearer token",
            client.client_secret.clone(),
        ),
    ];
    for (case, token) in &cases {
        assert_unauthenticated(app.get_me(&bearer(token)).await, case).await;
    }

    // Claims the server owns are re-read, never trusted from the token.
    let claiming_more = resign(&|c| {
        c["scope"] = json!("jobs:read users:write");
        c["roles"] = json!(["admin"]);
    });
    let me = me(&app, &claiming_more).await;
    assert_eq!(
        strings(&me["scopes"]),
        set(&["jobs:read"]),
        "scopes ∩ current permissions"
    );
    assert_eq!(
        me["roles"],
        json!([role]),
        "roles come from the client's record"
    );
    assert_eq!(
        app.get_me(&bearer(&real)).await.status(),
        200,
        "the real token still works"
    );
}
