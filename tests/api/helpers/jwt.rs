//! JWTs as a test sees them: decoding without verifying, the published JWKS,
//! and building and signing tokens the way a forger (or the server's own key) would.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::Value;

use super::TestApp;

/// Decodes one base64url segment of a JWT (0 = header, 1 = claims) without verifying anything.
pub fn jwt_segment(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("a JWT segment");
    let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64url");
    serde_json::from_slice(&bytes).expect("a JSON segment")
}

/// The unverified protected header of a JWT.
pub fn jwt_header(token: &str) -> Value {
    jwt_segment(token, 0)
}

/// The unverified claims of a JWT.
pub fn jwt_claims(token: &str) -> Value {
    jwt_segment(token, 1)
}

/// Now as a JWT NumericDate: seconds since the epoch.
pub fn now() -> i64 {
    super::utc_now().timestamp()
}

/// The JWKS, fetched independently of anything the server's own code verifies.
pub async fn jwks(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET /.well-known/jwks.json");
    response.json().await.unwrap()
}

/// The key `kid` of a JWKS, which must be published there.
pub fn jwk_for<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} is published in {jwks}"))
}

/// base64url without padding, as every JWT segment is encoded.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Joins a header, claims and signature the way a forger would, without any library.
pub fn assemble(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// Signs `claims` under a header of `alg` and, when given, `kid` and `typ`.
pub fn sign(
    alg: Algorithm,
    kid: Option<&str>,
    typ: Option<&str>,
    claims: &Value,
    key: &EncodingKey,
) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header.typ = typ.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// [`sign`] with a `kid` and RFC 9068's `typ: at+jwt`, as the server's access tokens carry.
pub fn sign_access_token(alg: Algorithm, kid: &str, claims: &Value, key: &EncodingKey) -> String {
    sign(alg, Some(kid), Some("at+jwt"), claims, key)
}

/// A new ES256 key the server has never seen.
pub fn fresh_es256_key() -> EncodingKey {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    EncodingKey::from_ec_der(pkcs8.as_ref())
}

impl TestApp {
    /// The server's active signing key, unsealed with the app's master key. With it a
    /// test signs tokens whose signature the server accepts, so each claim rule can be
    /// checked on its own.
    pub async fn active_signing_key(&self) -> (String, EncodingKey) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let db = self.db().await;
        let row = entity::signing_keys::Entity::find()
            .filter(entity::signing_keys::Column::RetiredAt.is_null())
            .one(&db)
            .await
            .unwrap()
            .expect("an active signing key");
        let _ = db.close().await;
        assert_eq!(row.algorithm, "ES256", "test apps sign with ES256");
        let source = trident::keys::MasterKeySource::Inline(secrecy::SecretString::from(
            self.master_key.clone(),
        ));
        let der = trident::keys::MasterKey::load(&source)
            .unwrap()
            .open(&row.private_key_ciphertext)
            .unwrap();
        (row.kid, EncodingKey::from_ec_der(&der))
    }
}
