//! The web UI in a real browser: headless Chromium driven through ChromeDriver
//! (WebDriver, via `fantoccini`) against the real server. Each test signs in,
//! clicks through the pages as a person would, and checks the outcome through
//! the JSON API. Every page visited is saved under `screenshots/` for review.
//!
//! Needs `chromium` and `chromium-driver` (Debian); `TRIDENT_SKIP_BROWSER_TESTS=1`
//! skips these tests where no browser can be installed.

mod account;
mod admin;
mod admin_pages;
mod api_keys;
mod forgery;
mod harness;
mod tokens;

use harness::{xpath_literal, Browser};

/// The link `link` in the table row whose `cell_class` cell reads `name`.
fn row_link(cell_class: &str, name: &str, link: &str) -> String {
    format!(
        "//tr[td[contains(@class, {cell})][normalize-space(.)={name}]]//a[normalize-space(.)={link}]",
        cell = xpath_literal(cell_class),
        name = xpath_literal(name),
        link = xpath_literal(link),
    )
}

/// Fills and submits the mint form of `/tokens` (the browser must be on it).
async fn fill_mint_form(browser: &Browser, name: &str, scope: &str, expiry_days: &str) {
    browser.fill("#token-name", name).await;
    browser
        .click(&format!("input[name=scopes][value='{scope}']"))
        .await;
    browser
        .click(&format!("input[name=expiry][value='{expiry_days}']"))
        .await;
}
