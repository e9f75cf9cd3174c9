//! The web UI's security behaviour over plain HTTP (no browser): cookies and
//! their attributes, CSRF and same-origin checks on forms and on the
//! cookie-authenticated API, session lifetime, escaping, and bad input.
//! A [`Browser`] here is a cookie jar plus the headers a browser sends, so each
//! test can also send what no honest browser would.

mod bad_input;
mod cookie_api;
mod csrf;
mod every_form;
mod refused_edits;
mod registration;
mod secrets;
mod session_lifetime;
mod sign_in;

use std::collections::BTreeMap;

use reqwest::header::HeaderMap;
use reqwest::{Client, RequestBuilder};
use serde_json::Value;

use crate::helpers::{TestApp, TestUser};

/// Cookie names for an http issuer (the test apps' default).
pub const SESSION_COOKIE: &str = "trident_session";
pub const ANTI_FORGERY_COOKIE: &str = "trident_csrf";
pub const PATS: &str = "/api/v1/personal-access-tokens";

/// One `Set-Cookie` header, split into its name, value and attributes.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// Attribute names lowercased, with their values as sent.
    attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(header: &str) -> Self {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .expect("a Set-Cookie header starts with name=value");
        let attributes = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            attributes,
        }
    }

    pub fn has(&self, attribute: &str) -> bool {
        let attribute = attribute.to_ascii_lowercase();
        self.attributes.iter().any(|(k, _)| *k == attribute)
    }

    pub fn attribute(&self, attribute: &str) -> Option<&str> {
        let attribute = attribute.to_ascii_lowercase();
        self.attributes
            .iter()
            .find(|(k, _)| *k == attribute)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Whether this header tells the browser to forget the cookie.
    pub fn is_removal(&self) -> bool {
        self.attribute("max-age")
            .is_some_and(|age| age.parse::<i64>().is_ok_and(|a| a <= 0))
    }
}

/// A response, read whole.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    pub set_cookies: Vec<SetCookie>,
}

impl Page {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let set_cookies = headers
            .get_all("set-cookie")
            .iter()
            .map(|v| SetCookie::parse(v.to_str().expect("an ASCII Set-Cookie")))
            .collect();
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body,
            set_cookies,
        }
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn location(&self) -> &str {
        self.header("location")
    }

    pub fn set_cookie(&self, name: &str) -> Option<&SetCookie> {
        self.set_cookies.iter().find(|c| c.name == name)
    }

    /// The value of the first `attr="…"` that follows `marker` in the body.
    pub fn attribute_after(&self, marker: &str, attr: &str) -> Option<String> {
        let start = self.body.find(marker)?;
        let rest = &self.body[start..];
        let needle = format!("{attr}=\"");
        let from = rest.find(&needle)? + needle.len();
        let to = rest[from..].find('"')?;
        Some(rest[from..from + to].to_owned())
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf_token(&self) -> String {
        self.attribute_after(r#"name="csrf_token""#, "value")
            .expect("the page has a form with a csrf_token")
    }

    /// The token of `<meta name="csrf-token">`, the one scripts send in `X-CSRF-Token`.
    pub fn meta_csrf_token(&self) -> Option<String> {
        self.attribute_after(r#"<meta name="csrf-token""#, "content")
    }

    /// The secret a secret page shows once.
    pub fn secret(&self) -> Option<String> {
        self.attribute_after(r#"id="secret""#, "value")
    }
}

/// A cookie jar and the headers a browser adds to a form it submits from one of
/// Trident's own pages.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    client: Client,
    pub jar: BTreeMap<String, String>,
    /// The origin the browser says its pages come from.
    pub origin: String,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self::with_client(app, app.client.clone())
    }

    pub fn with_client(app: &'a TestApp, client: Client) -> Self {
        Browser {
            app,
            client,
            jar: BTreeMap::new(),
            origin: app.address.clone(),
        }
    }

    /// A browser already signed in as `user`.
    pub async fn signed_in(app: &'a TestApp, user: &TestUser) -> Self {
        let mut browser = Browser::new(app);
        browser.sign_in(user).await;
        browser
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar.get(name).map(String::as_str)
    }

    pub fn session(&self) -> String {
        self.cookie(SESSION_COOKIE)
            .expect("a session cookie")
            .to_owned()
    }

    fn with_cookies(&self, request: RequestBuilder) -> RequestBuilder {
        if self.jar.is_empty() {
            return request;
        }
        let header = self
            .jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        request.header("cookie", header)
    }

    async fn send(&mut self, request: RequestBuilder) -> Page {
        let page = Page::read(self.with_cookies(request).send().await.unwrap()).await;
        for cookie in &page.set_cookies {
            if cookie.is_removal() {
                self.jar.remove(&cookie.name);
            } else {
                self.jar.insert(cookie.name.clone(), cookie.value.clone());
            }
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self
            .client
            .get(self.app.url(path))
            .header("sec-fetch-site", "none");
        self.send(request).await
    }

    /// A request to `path` with this browser's cookies and exactly `headers`.
    pub async fn request(
        &mut self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Page {
        let mut request = self.client.request(method, self.app.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        self.send(request).await
    }

    /// Submits a form as a page of this origin does, with `fields` as given
    /// (the caller includes `csrf_token` or not).
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.origin.clone();
        self.submit_with(
            path,
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
            fields,
        )
        .await
    }

    /// Submits a form with exactly `headers` besides its content type.
    pub async fn submit_with(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        fields: &[(&str, &str)],
    ) -> Page {
        let body = form_body(fields);
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.request(reqwest::Method::POST, path, &all, Some(body.into_bytes()))
            .await
    }

    /// Opens the sign-in page and signs in as `user`; asserts it worked.
    pub async fn sign_in(&mut self, user: &TestUser) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, 200, "the sign-in page");
        let csrf = form.csrf_token();
        let page = self
            .submit(
                "/login",
                &[
                    ("csrf_token", &csrf),
                    ("username", &user.username),
                    ("password", &user.password),
                ],
            )
            .await;
        assert_eq!(
            page.status, 303,
            "signing in as {}: {}",
            user.username, page.body
        );
        assert_eq!(
            page.location(),
            "/",
            "signing in goes home, which picks the first section the user may open"
        );
        page
    }

    /// The CSRF token of the tokens page (the signed-in browser's token).
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/tokens").await;
        assert_eq!(page.status, 200, "the tokens page: {}", page.body);
        page.csrf_token()
    }

    /// Mints a PAT from the tokens page's form as a user would; returns the page.
    pub async fn mint(&mut self, name: &str, scopes: &[&str], expiry: &str) -> Page {
        let csrf = self.csrf().await;
        let mut fields = vec![
            ("csrf_token", csrf.as_str()),
            ("name", name),
            ("expiry", expiry),
        ];
        fields.extend(scopes.iter().map(|s| ("scopes", *s)));
        self.submit("/tokens", &fields).await
    }
}

pub fn form_body(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// The PATs of the user behind `authorization`, through the API.
pub async fn pats_of(app: &TestApp, authorization: &str) -> Vec<Value> {
    let response = app.get(PATS, authorization).await;
    assert_eq!(response.status(), 200, "listing PATs");
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

/// The names of the PATs of the user behind `authorization`.
pub async fn pat_names(app: &TestApp, authorization: &str) -> Vec<String> {
    pats_of(app, authorization)
        .await
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `GET /api/v1/me` with only `session` as the session cookie.
pub async fn me_with_cookie(app: &TestApp, session: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .unwrap()
}

/// What a stolen or replayed session cookie gets on a page: sent to sign in.
pub async fn assert_sent_to_sign_in(app: &TestApp, session: &str, case: &str) {
    let mut thief = Browser::new(app);
    thief.jar.insert(SESSION_COOKIE.into(), session.to_owned());
    for path in ["/tokens", "/api-keys"] {
        let page = thief.get(path).await;
        assert_eq!(page.status, 303, "case {case}: GET {path} status");
        assert_eq!(
            page.location(),
            "/login",
            "case {case}: GET {path} location"
        );
    }
    let me = me_with_cookie(app, session).await;
    assert_eq!(me.status(), 401, "case {case}: GET /api/v1/me");
}
