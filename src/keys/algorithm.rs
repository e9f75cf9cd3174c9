//! The asymmetric algorithms Trident signs with (RFC 7518 §3.3, §3.4; RFC 8037),
//! key generation, and the public JWK of each.

use std::fmt;
use std::str::FromStr;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse, RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

/// The allow-list: no symmetric algorithm, no `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SigningAlgorithm {
    #[value(name = "ES256")]
    Es256,
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "EdDSA")]
    EdDsa,
}

impl SigningAlgorithm {
    pub const fn jose_name(self) -> &'static str {
        match self {
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::EdDsa => "EdDSA",
        }
    }

    const fn key_algorithm(self) -> KeyAlgorithm {
        match self {
            SigningAlgorithm::Es256 => KeyAlgorithm::ES256,
            SigningAlgorithm::Rs256 => KeyAlgorithm::RS256,
            SigningAlgorithm::EdDsa => KeyAlgorithm::EdDSA,
        }
    }

    pub const fn jwt_algorithm(self) -> Algorithm {
        match self {
            SigningAlgorithm::Es256 => Algorithm::ES256,
            SigningAlgorithm::Rs256 => Algorithm::RS256,
            SigningAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }

    /// Generates a key pair: the private key as DER (what `EncodingKey` takes) and the public JWK.
    pub fn generate(self) -> anyhow::Result<GeneratedKey> {
        let rng = SystemRandom::new();
        let (private_der, key) = match self {
            SigningAlgorithm::Es256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| anyhow::anyhow!("generating a P-256 key"))?;
                let pair = EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8.as_ref(),
                    &rng,
                )
                .map_err(|_| anyhow::anyhow!("reading the generated P-256 key"))?;
                // Uncompressed SEC1 point: 0x04 ‖ x ‖ y.
                let point = pair.public_key().as_ref();
                let (x, y) = point[1..].split_at(32);
                let key = AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                    key_type: EllipticCurveKeyType::EC,
                    curve: EllipticCurve::P256,
                    x: b64(x),
                    y: b64(y),
                });
                (pkcs8.as_ref().to_vec(), key)
            }
            SigningAlgorithm::EdDsa => {
                let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(|_| anyhow::anyhow!("generating an Ed25519 key"))?;
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                    .map_err(|_| anyhow::anyhow!("reading the generated Ed25519 key"))?;
                let key = AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                    key_type: OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: b64(pair.public_key().as_ref()),
                });
                (pkcs8.as_ref().to_vec(), key)
            }
            SigningAlgorithm::Rs256 => {
                let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                    .context("generating an RSA key")?;
                let der = key.to_pkcs1_der().context("encoding the RSA key")?;
                let public = AlgorithmParameters::RSA(RSAKeyParameters {
                    key_type: RSAKeyType::RSA,
                    n: b64(&key.n().to_bytes_be()),
                    e: b64(&key.e().to_bytes_be()),
                });
                (der.as_bytes().to_vec(), public)
            }
        };
        let kid = thumbprint(&key)?;
        let jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(self.key_algorithm()),
                key_id: Some(kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: key,
        };
        Ok(GeneratedKey {
            kid,
            algorithm: self,
            private_der,
            public_jwk: jwk,
        })
    }

    pub fn encoding_key(self, private_der: &[u8]) -> EncodingKey {
        match self {
            SigningAlgorithm::Es256 => EncodingKey::from_ec_der(private_der),
            SigningAlgorithm::Rs256 => EncodingKey::from_rsa_der(private_der),
            SigningAlgorithm::EdDsa => EncodingKey::from_ed_der(private_der),
        }
    }

    /// Builds the verification key from the public JWK alone, which must be a
    /// key of this algorithm's type and curve (a stored RSA or symmetric key can
    /// never verify an ES256 token, whatever the row says).
    pub fn decoding_key(self, jwk: &Jwk) -> anyhow::Result<DecodingKey> {
        let fits = match (&jwk.algorithm, self) {
            (AlgorithmParameters::EllipticCurve(ec), SigningAlgorithm::Es256) => {
                ec.curve == EllipticCurve::P256
            }
            (AlgorithmParameters::OctetKeyPair(okp), SigningAlgorithm::EdDsa) => {
                okp.curve == EllipticCurve::Ed25519
            }
            (AlgorithmParameters::RSA(_), SigningAlgorithm::Rs256) => true,
            _ => false,
        };
        anyhow::ensure!(fits, "the JWK is not a key for {self}");
        DecodingKey::from_jwk(jwk).context("building the verification key")
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jose_name())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "ES256" => Ok(SigningAlgorithm::Es256),
            "RS256" => Ok(SigningAlgorithm::Rs256),
            "EdDSA" => Ok(SigningAlgorithm::EdDsa),
            _ => Err(()),
        }
    }
}

pub struct GeneratedKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    pub private_der: Vec<u8>,
    pub public_jwk: Jwk,
}

impl GeneratedKey {
    /// The row that keeps this key, with its private part sealed as `sealed`.
    pub fn stored(
        &self,
        sealed: Vec<u8>,
    ) -> anyhow::Result<crate::store::signing_keys::NewSigningKey<'_>> {
        Ok(crate::store::signing_keys::NewSigningKey {
            kid: &self.kid,
            algorithm: self.algorithm.jose_name(),
            public_jwk: serde_json::to_string(&self.public_jwk).context("serialising the JWK")?,
            private_key_ciphertext: sealed,
        })
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members, in lexicographic
/// order and without whitespace. Hand-written because jsonwebtoken 9 has none;
/// the members are base64url strings and fixed names, which need no escaping.
fn thumbprint(key: &AlgorithmParameters) -> anyhow::Result<String> {
    let canonical = match key {
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            ec.x, ec.y
        ),
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, okp.x)
        }
        AlgorithmParameters::RSA(rsa) => {
            format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, rsa.e, rsa.n)
        }
        _ => anyhow::bail!("no thumbprint for this key type"),
    };
    Ok(b64(&Sha256::digest(canonical)))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn every_algorithm_signs_and_verifies_with_its_public_jwk() {
        for alg in [
            SigningAlgorithm::Es256,
            SigningAlgorithm::EdDsa,
            SigningAlgorithm::Rs256,
        ] {
            let key = alg.generate().unwrap();
            let published = serde_json::to_value(&key.public_jwk).unwrap();
            assert_eq!(published["kid"], key.kid.as_str());
            assert_eq!(published["alg"], alg.jose_name());
            assert_eq!(published["use"], "sig");
            for private_member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(
                    published.get(private_member).is_none(),
                    "{alg}: {private_member}"
                );
            }
            let mut header = jsonwebtoken::Header::new(alg.jwt_algorithm());
            header.kid = Some(key.kid.clone());
            let token = jsonwebtoken::encode(
                &header,
                &json!({"sub": "x", "exp": 4_000_000_000u64}),
                &alg.encoding_key(&key.private_der),
            )
            .unwrap();
            let decoding = alg.decoding_key(&key.public_jwk).unwrap();
            let validation = jsonwebtoken::Validation::new(alg.jwt_algorithm());
            assert!(
                jsonwebtoken::decode::<Value>(&token, &decoding, &validation).is_ok(),
                "{alg}"
            );
        }
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1.
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            thumbprint(&jwk.algorithm).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_key_of_another_type_or_curve_never_verifies() {
        let ec = SigningAlgorithm::Es256.generate().unwrap().public_jwk;
        let ed = SigningAlgorithm::EdDsa.generate().unwrap().public_jwk;
        let hmac: Jwk = serde_json::from_value(json!({"kty": "oct", "k": "c2VjcmV0"})).unwrap();
        let p384: Jwk = serde_json::from_value(json!({
            "kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"
        }))
        .unwrap();
        for (alg, jwk) in [
            (SigningAlgorithm::Rs256, &ec),
            (SigningAlgorithm::Es256, &ed),
            (SigningAlgorithm::EdDsa, &ec),
            (SigningAlgorithm::Es256, &hmac),
            (SigningAlgorithm::Es256, &p384),
        ] {
            assert!(alg.decoding_key(jwk).is_err(), "{alg}: {jwk:?}");
        }
    }

    #[test]
    fn only_asymmetric_algorithms_parse() {
        for bad in ["HS256", "none", "es256", ""] {
            assert!(bad.parse::<SigningAlgorithm>().is_err(), "{bad}");
        }
    }
}
