//! A machine-to-machine client: a registered OAuth2 client exchanges its
//! `client_id` and `client_secret` for a short-lived access token at Trident's
//! token endpoint (the client credentials grant, RFC 6749 §4.4) with the
//! `oauth2` crate, then calls a protected route with it as a Bearer token.
//!
//! ```sh
//! trident client create --name nightly-report --role reporting   # prints client_id and client_secret
//! TRIDENT_CLIENT_ID=cli_… TRIDENT_CLIENT_SECRET=tri_cs_… cargo run --example m2m_client
//! # optionally against another server, down-scoped:
//! TRIDENT_URL=https://auth.example.com TRIDENT_SCOPE="jobs:read" … cargo run --example m2m_client
//! ```

use std::time::Duration;

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use serde_json::Value;

fn required(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("set {name} (see `trident client create`)"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let trident = std::env::var("TRIDENT_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let trident = trident.trim_end_matches('/');
    let client_id = required("TRIDENT_CLIENT_ID")?;
    let client_secret = required("TRIDENT_CLIENT_SECRET")?;
    let scope = std::env::var("TRIDENT_SCOPE").unwrap_or_default();

    // The oauth2 crate asks for a client that does not follow redirects.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()?;
    let oauth = BasicClient::new(ClientId::new(client_id))
        .set_client_secret(ClientSecret::new(client_secret))
        .set_token_uri(TokenUrl::new(format!("{trident}/oauth/token"))?)
        // client_secret_basic; AuthType::RequestBody would send client_secret_post.
        .set_auth_type(AuthType::BasicAuth);

    let mut request = oauth.exchange_client_credentials();
    for scope in scope.split_whitespace() {
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    let token = match request.request_async(&http).await {
        Ok(token) => token,
        Err(RequestTokenError::ServerResponse(error)) => {
            return Err(format!(
                "the token endpoint refused: {} ({})",
                error.error(),
                error.error_description().map_or("", String::as_str)
            )
            .into())
        }
        Err(other) => return Err(format!("the token request failed: {other}").into()),
    };
    let granted = token
        .scopes()
        .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    println!(
        "got a {:?} token, scope \"{granted}\", expires in {} s",
        token.token_type(),
        token.expires_in().map_or(0, |d| d.as_secs())
    );

    let response = http
        .get(format!("{trident}/api/v1/me"))
        .bearer_auth(token.access_token().secret())
        .send()
        .await?;
    let status = response.status();
    let me: Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("GET /api/v1/me was refused ({status}): {}", me["detail"]).into());
    }
    println!(
        "acting for {} {} ({}) with a {} credential; roles: {}; scopes: {}",
        me["principal"]["type"].as_str().unwrap_or("?"),
        me["principal"]["name"].as_str().unwrap_or("?"),
        me["principal"]["id"].as_str().unwrap_or("?"),
        me["credential"]["kind"].as_str().unwrap_or("?"),
        me["roles"],
        me["scopes"],
    );
    Ok(())
}
