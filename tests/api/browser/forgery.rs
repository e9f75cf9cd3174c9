//! Cross-site request forgery: a form without its CSRF token, and a form on
//! another site that posts to Trident while the browser is signed in, are both
//! refused with the 403 page, and nothing is minted.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::fill_mint_form;
use super::harness::{browse, Browser};
use crate::helpers::{spawn_app, TestApp};

#[tokio::test]
async fn a_form_posted_without_its_csrf_token_gets_the_403_page_and_mints_nothing() {
    browse(spawn_app(), |app, b| async move {
        b.sign_in(&app.admin.username, &app.admin.password).await;
        fill_mint_form(&b, "forged", "tokens:read", "7").await;
        let removed = b
            .client()
            .execute(
                "const field = document.querySelector('#mint-form input[name=csrf_token]'); \
                 field.remove(); return document.querySelectorAll('#mint-form input[name=csrf_token]').length;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(removed, 0, "the token field is gone");
        b.click_and_load("#generate").await;

        assert_forbidden_page(&b, "no CSRF token").await;
        b.snap("error-403-no-csrf-token").await;
        assert_nothing_minted(&app, "no CSRF token").await;
    })
    .await;
}

#[tokio::test]
async fn a_form_on_another_site_cannot_post_to_trident_even_with_a_leaked_csrf_token() {
    browse(spawn_app(), |app, b| async move {
        b.sign_in(&app.admin.username, &app.admin.password).await;
        // The worst case for the second page: the attacker somehow learned the
        // session's CSRF token, so only the same-origin check stands in the way.
        let leaked = b
            .find("meta[name=csrf-token]")
            .await
            .attr("content")
            .await
            .unwrap()
            .unwrap_or_default();
        assert!(!leaked.is_empty(), "signed-in pages carry the CSRF token");

        let target = app.url("/tokens");
        let attacker = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let attacker_url = format!("http://{}", attacker.local_addr().unwrap());
        let pages = vec![
            ("/", attack_page(&target, None)),
            ("/leaked", attack_page(&target, Some(&leaked))),
        ];
        let server = tokio::spawn(serve(attacker, pages));

        for (path, case) in [
            ("/", "cross-site form"),
            ("/leaked", "cross-site form with the leaked token"),
        ] {
            b.go(&format!("{attacker_url}{path}")).await;
            assert_forbidden_page(&b, case).await;
            let url = b.client().current_url().await.unwrap();
            assert_eq!(url.as_str(), target, "case {case}: the page is Trident's");
            assert_nothing_minted(&app, case).await;
        }
        b.snap("error-403-cross-site").await;
        server.abort();
    })
    .await;
}

/// Trident's error page for 403 is showing.
async fn assert_forbidden_page(b: &Browser, case: &str) {
    let message = b.find("#error-message").await;
    assert!(
        message.is_displayed().await.unwrap(),
        "case {case}: the message is visible"
    );
    let lead = b.text("p.lead").await;
    assert_eq!(lead, "Error 403", "case {case}: the status shown");
    assert!(
        b.client()
            .find(fantoccini::Locator::Css("input#secret"))
            .await
            .is_err(),
        "case {case}: no token was shown"
    );
}

async fn assert_nothing_minted(app: &TestApp, case: &str) {
    let listed = app
        .get("/api/v1/personal-access-tokens", &app.admin_auth().await)
        .await;
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(0),
        "case {case}: no token was minted"
    );
}

/// A page that submits a mint form to `target` as soon as it loads.
fn attack_page(target: &str, csrf_token: Option<&str>) -> String {
    let token = csrf_token.map_or_else(String::new, |t| {
        format!(r#"<input type="hidden" name="csrf_token" value="{t}">"#)
    });
    format!(
        r#"<!doctype html><html><head><title>Free prizes</title></head><body>
<form id="forged" method="post" action="{target}">{token}
<input type="hidden" name="name" value="forged">
<input type="hidden" name="scopes" value="tokens:read">
<input type="hidden" name="expiry" value="7">
</form>
<script>document.getElementById("forged").submit();</script>
</body></html>"#
    )
}

/// The attacker's web server: answers every request for `path` with its page
/// (anything else with the first page), until aborted.
async fn serve(listener: TcpListener, pages: Vec<(&'static str, String)>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let pages = pages.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut chunk = [0u8; 2048];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&request);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let page = pages
                .iter()
                .find(|(p, _)| *p == path)
                .map_or(&pages[0].1, |(_, page)| page);
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}
