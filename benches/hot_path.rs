//! Micro-benchmarks of the hot path (`cargo bench --bench hot_path`), the pieces
//! every request or login pays for: recognising a credential by its format,
//! its SHA-256 digest, JWT signing and verification per algorithm, `Principal`
//! resolution against a real database (warm cache and cold), and the argon2id
//! ceiling of the machine. BENCHMARKS.md reads the figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use jsonwebtoken::{decode, encode, Header, Validation};
use tokio::runtime::Runtime;
use trident::accounts;
use trident::accounts::clients::{self, NewClientInput};
use trident::clock::{Clock, SystemClock};
use trident::config::RawSettings;
use trident::credentials::inspect;
use trident::credentials::InspectionCache;
use trident::credentials::PresentedCredential;
use trident::domain::{Audience, Password, RoleName, Username};
use trident::keys::jwt::{self, AccessTokenClaims};
use trident::keys::SigningAlgorithm;
use trident::secret::password::PasswordHasher;
use trident::secret::{OpaqueSecret, SecretKind};
use trident::startup::build_state;
use trident::state::AppState;

const ISSUER: &str = "https://trident.bench";

fn claims(client_id: &str, now: i64) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: ISSUER.into(),
        sub: client_id.into(),
        aud: Audience::One(ISSUER.into()),
        exp: now + 900,
        iat: now,
        nbf: None,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: client_id.into(),
        scope: "api_keys:read api_keys:write tokens:read tokens:write".into(),
        roles: vec!["user".into()],
        username: None,
        sid: None,
        gen: None,
    }
}

fn token_format(c: &mut Criterion) {
    let mut group = c.benchmark_group("token_format");
    let key = OpaqueSecret::generate(SecretKind::LiveApiKey)
        .reveal()
        .to_owned();
    let mut corrupted = key.clone().into_bytes();
    let i = SecretKind::LiveApiKey.prefix().len() + 5;
    corrupted[i] = if corrupted[i] == b'a' { b'b' } else { b'a' };
    let corrupted = String::from_utf8(corrupted).unwrap();
    assert!(OpaqueSecret::parse(&key).is_some());
    assert!(OpaqueSecret::parse(&corrupted).is_none());
    group.bench_function("parse_and_checksum_api_key", |b| {
        b.iter(|| OpaqueSecret::parse(black_box(&key)))
    });
    group.bench_function("reject_bad_checksum", |b| {
        b.iter(|| OpaqueSecret::parse(black_box(&corrupted)))
    });
    let now = SystemClock.now().timestamp();
    let generated = SigningAlgorithm::Es256.generate().unwrap();
    let jwt = encode(
        &Header::new(jsonwebtoken::Algorithm::ES256),
        &claims("cli_bench", now),
        &SigningAlgorithm::Es256.encoding_key(&generated.private_der),
    )
    .unwrap();
    group.bench_function("recognize_jwt", |b| {
        b.iter(|| PresentedCredential::recognize(black_box(&jwt)))
    });
    group.finish();
}

fn digest(c: &mut Criterion) {
    let mut group = c.benchmark_group("digest");
    let secret = OpaqueSecret::generate(SecretKind::LiveApiKey);
    group.bench_function("sha256_of_api_key", |b| {
        b.iter(|| black_box(&secret).digest())
    });
    group.bench_function("cache_key_of_api_key", |b| {
        b.iter(|| InspectionCache::key(&[b"credential", black_box(secret.reveal()).as_bytes()]))
    });
    group.finish();
}

fn jwt_per_algorithm(c: &mut Criterion) {
    let mut group = c.benchmark_group("jwt");
    let now = SystemClock.now().timestamp();
    let claims = claims("cli_bench", now);
    for algorithm in [
        SigningAlgorithm::Es256,
        SigningAlgorithm::Rs256,
        SigningAlgorithm::EdDsa,
    ] {
        let generated = algorithm.generate().unwrap();
        let encoding = algorithm.encoding_key(&generated.private_der);
        let decoding = algorithm.decoding_key(&generated.public_jwk).unwrap();
        let mut header = Header::new(algorithm.jwt_algorithm());
        header.typ = Some("at+jwt".into());
        header.kid = Some(generated.kid.clone());
        let mut validation = Validation::new(algorithm.jwt_algorithm());
        validation.set_audience(&[ISSUER]);
        validation.set_issuer(&[ISSUER]);
        let token = encode(&header, &claims, &encoding).unwrap();
        decode::<AccessTokenClaims>(&token, &decoding, &validation).unwrap();
        group.bench_function(format!("sign/{algorithm}"), |b| {
            b.iter(|| encode(&header, black_box(&claims), &encoding).unwrap())
        });
        group.bench_function(format!("verify/{algorithm}"), |b| {
            b.iter(|| {
                decode::<AccessTokenClaims>(black_box(&token), &decoding, &validation).unwrap()
            })
        });
        // The signature alone, with the key parsed once: what `sign` costs beyond
        // this is jsonwebtoken parsing the private key again on every call.
        let message = token.rsplit_once('.').unwrap().0.as_bytes().to_vec();
        let sign = raw_signer(algorithm, &generated.private_der);
        group.bench_function(format!("signature_only_key_parsed_once/{algorithm}"), |b| {
            b.iter(|| sign(black_box(&message)))
        });
    }
    group.finish();
}

/// A signing function over a key parsed once, with ring (jsonwebtoken's backend).
/// Signs a message with a raw key, outside jsonwebtoken.
type RawSigner = Box<dyn Fn(&[u8]) -> Vec<u8>>;

fn raw_signer(algorithm: SigningAlgorithm, private_der: &[u8]) -> RawSigner {
    use ring::signature::{
        EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
    };
    let rng = ring::rand::SystemRandom::new();
    match algorithm {
        SigningAlgorithm::Es256 => {
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, private_der, &rng)
                    .unwrap();
            Box::new(move |message| pair.sign(&rng, message).unwrap().as_ref().to_vec())
        }
        SigningAlgorithm::EdDsa => {
            let pair = Ed25519KeyPair::from_pkcs8(private_der).unwrap();
            Box::new(move |message| pair.sign(message).as_ref().to_vec())
        }
        SigningAlgorithm::Rs256 => {
            let pair = RsaKeyPair::from_der(private_der).unwrap();
            Box::new(move |message| {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .unwrap();
                signature
            })
        }
    }
}

/// A real application state on a throwaway SQLite database, as `trident serve` builds it.
struct BenchApp {
    state: AppState,
    dir: PathBuf,
}

impl Drop for BenchApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bench_app(runtime: &Runtime, credential_cache: bool) -> BenchApp {
    let dir = std::env::temp_dir().join(format!("trident-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let raw = RawSettings {
        database_url: format!("sqlite://{}/trident.db?mode=rwc", dir.display()),
        bind: "127.0.0.1:0".parse().unwrap(),
        issuer: Some(ISSUER.into()),
        admin_username: None,
        admin_password: None,
        master_key: Some(
            base64::engine::general_purpose::STANDARD
                .encode(rand::random::<[u8; 32]>())
                .into(),
        ),
        signing_algorithm: trident::keys::SigningAlgorithm::Es256,
        access_token_ttl: 600,
        refresh_token_ttl: 86_400,
        session_max_lifetime: 30 * 86_400,
        ui_session_ttl: 28_800,
        client_token_ttl: 900,
        client_auth_failures_per_minute: 20,
        introspections_per_minute: 600_000,
        allow_registration: false,
        api_key_on_user_create: true,
        credential_cache,
        credential_cache_mb: 64,
        pat_max_lifetime_days: 366,
        log_format: trident::config::LogFormat::Text,
        login_attempts_per_minute: 10,
        password_hash_concurrency: 1,
        workers: 1,
        db_max_connections: 4,
    };
    let settings = raw.validate().expect("valid bench settings");
    let state = runtime
        .block_on(build_state(settings, Arc::new(SystemClock)))
        .unwrap();
    BenchApp { state, dir }
}

/// A user with the `user` role and its live API key.
fn seed_api_key(runtime: &Runtime, state: &AppState) -> String {
    let created = runtime
        .block_on(accounts::users::create_user(
            &state.accounts(),
            None,
            Username::parse("bench-user").unwrap(),
            Password::parse("bench-password-123".into()).unwrap(),
            vec![RoleName::parse("user").unwrap()],
            true,
        ))
        .unwrap();
    let (_, secret) = created.api_key.expect("an API key on user creation");
    secret.reveal().to_owned()
}

/// A client with the `user` role and an M2M access token signed by the active key.
fn seed_m2m_token(runtime: &Runtime, state: &AppState) -> String {
    let (record, _) = runtime
        .block_on(clients::create(
            &state.accounts(),
            None,
            NewClientInput {
                name: "bench-worker",
                roles: &["user".to_owned()],
                access_token_ttl_seconds: None,
            },
        ))
        .unwrap();
    let claims = claims(&record.client.client_id, state.clock.now().timestamp());
    jwt::sign(&state.keys, &claims).unwrap()
}

fn principal_resolution(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("principal");
    for (label, cache) in [("warm_cache", true), ("cold_cache", false)] {
        let app = bench_app(&runtime, cache);
        let key = seed_api_key(&runtime, &app.state);
        let jwt = seed_m2m_token(&runtime, &app.state);
        for (kind, token) in [("api_key", key), ("m2m_jwt", jwt)] {
            let presented = PresentedCredential::recognize(&token).unwrap();
            // Also the first use, which records last-used times, stays out of the loop.
            runtime
                .block_on(inspect::inspect(&app.state.credentials(), &presented))
                .unwrap();
            group.bench_function(format!("inspect_{kind}/{label}"), |b| {
                b.iter(|| {
                    runtime
                        .block_on(inspect::inspect(
                            &app.state.credentials(),
                            black_box(&presented),
                        ))
                        .unwrap()
                })
            });
            // What a request pays in all: recognising the credential, then resolving it.
            group.bench_function(format!("recognize_and_resolve_{kind}/{label}"), |b| {
                b.iter(|| {
                    let presented = PresentedCredential::recognize(black_box(&token)).unwrap();
                    runtime.block_on(inspect::resolve(&app.state.credentials(), presented))
                })
            });
        }
    }
    group.finish();
}

/// The login ceiling: argon2id verifications (m = 19 MiB, t = 2, p = 1) one at a
/// time, and one per core at once (what a saturated server can do at best).
fn argon2(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .build()
        .unwrap();
    let hasher = Arc::new(PasswordHasher::new(cores).unwrap());
    let password = "correct horse battery staple";
    let hash = runtime
        .block_on(hasher.hash(Password::presented(password.into())))
        .unwrap();
    let mut group = c.benchmark_group("argon2id_verify");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("one", |b| {
        b.iter(|| {
            runtime
                .block_on(hasher.verify(Password::presented(password.into()), Some(hash.clone())))
                .unwrap()
        })
    });
    group.bench_function("parallel_per_core", |b| {
        b.iter_batched(
            || (0..cores).map(|_| Password::presented(password.into())),
            |passwords| {
                runtime.block_on(async {
                    let running: Vec<_> = passwords
                        .map(|p| {
                            let (hasher, hash) = (hasher.clone(), hash.clone());
                            tokio::spawn(async move { hasher.verify(p, Some(hash)).await })
                        })
                        .collect();
                    for verification in running {
                        assert!(verification.await.unwrap().unwrap());
                    }
                })
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(
    benches,
    token_format,
    digest,
    jwt_per_algorithm,
    principal_resolution,
    argon2
);
criterion_main!(benches);
