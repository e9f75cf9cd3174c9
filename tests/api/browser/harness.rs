//! The browser harness: a ChromeDriver per test, a headless Chromium session
//! on it, and the few verbs the UI tests speak (go, fill, tick, click, read,
//! photograph). At most [`MAX_BROWSERS`] Chromiums run at once.

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use crate::helpers::TestApp;

const MAX_BROWSERS: usize = 2;
/// Chromium is heavy: tests beyond this many wait for a slot.
static BROWSERS: Semaphore = Semaphore::const_new(MAX_BROWSERS);

const CHROMIUM: &str = "/usr/bin/chromium";
const SKIP_VAR: &str = "TRIDENT_SKIP_BROWSER_TESTS";
/// Set by `.ci/run`: there, a missing browser fails the run instead of skipping.
const REQUIRE_VAR: &str = "TRIDENT_REQUIRE_BROWSER_TESTS";
const INSTALL_HINT: &str = "the browser tests need Chromium and ChromeDriver: \
     `apt-get install chromium chromium-driver` (or set TRIDENT_SKIP_BROWSER_TESTS=1 to skip them)";
/// How long to wait for a page element, ChromeDriver, or a navigation.
const PATIENCE: Duration = Duration::from_secs(15);

pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// Runs `scenario` against the app `app` starts, in a fresh headless Chromium.
/// The WebDriver session is closed afterwards, whether the scenario passed or
/// panicked (the scenario runs as its own task so a failed assertion cannot skip
/// the cleanup); ChromeDriver dies with its handle.
pub async fn browse<F, Fut>(app: impl Future<Output = TestApp>, scenario: F)
where
    F: FnOnce(Arc<TestApp>, Browser) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        eprintln!("{SKIP_VAR}=1: skipping a browser test");
        return;
    }
    let Some(driver_binary) = chromedriver_binary() else {
        return;
    };
    let app = Arc::new(app.await);
    let _slot = BROWSERS
        .acquire()
        .await
        .expect("the browser semaphore is never closed");
    let (_driver, driver_url) = start_chromedriver(&driver_binary).await;
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(chromium_capabilities())
        .connect(&driver_url)
        .await
        .expect("ChromeDriver starts a Chromium session");
    let browser = Browser {
        client: client.clone(),
        base: app.address.clone(),
    };
    let outcome = tokio::spawn(scenario(app, browser)).await;
    if let Err(e) = client.close().await {
        eprintln!("closing the WebDriver session: {e}");
    }
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the browser scenario did not finish: {e}"),
        }
    }
}

/// ChromeDriver, when it and Chromium are installed. Without them a browser test
/// is skipped with a loud notice on a developer's machine (so `cargo test` works
/// anywhere), and fails where `TRIDENT_REQUIRE_BROWSER_TESTS=1` (CI).
fn chromedriver_binary() -> Option<PathBuf> {
    let driver = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("chromedriver"))
            .find(|candidate| candidate.is_file())
    });
    let chromium = std::path::Path::new(CHROMIUM).is_file();
    match driver {
        Some(driver) if chromium => Some(driver),
        _ if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") => {
            panic!("{REQUIRE_VAR}=1, but {INSTALL_HINT}")
        }
        _ => {
            eprintln!("SKIPPED a browser test: {INSTALL_HINT}");
            None
        }
    }
}

/// Starts ChromeDriver on a loopback port it picks itself (`--port=0`: nothing can
/// take the port between a probe and its bind) and waits until it says which.
async fn start_chromedriver(binary: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(binary)
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}; {INSTALL_HINT}", binary.display()));
    let stdout = child.stdout.take().expect("ChromeDriver's piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.ok().flatten() {
            // "ChromeDriver was started successfully on port 39815."
            if let Some((_, rest)) = line.split_once("started successfully on port ") {
                return rest.trim_end_matches('.').parse::<u16>().ok();
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let Some(port) = port else {
        let exit = child.try_wait().ok().flatten();
        panic!("ChromeDriver did not say it started (exit: {exit:?}); {INSTALL_HINT}");
    };
    // Keep reading what it writes later, so it never blocks on (or dies of) a full
    // or closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, format!("http://127.0.0.1:{port}"))
}

fn chromium_capabilities() -> serde_json::Map<String, Value> {
    let window = format!("--window-size={},{}", DESKTOP.0, DESKTOP.1);
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", window],
        }
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// One Chromium tab pointed at one Trident.
#[derive(Clone)]
pub struct Browser {
    client: Client,
    base: String,
}

impl Browser {
    /// The underlying WebDriver client, for what the verbs below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `path` of the app, or an absolute URL.
    pub async fn go(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Waits for an element (pages load after a click or a script's submit).
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for(Locator::Css(css), css).await
    }

    pub async fn find_xpath(&self, xpath: &str) -> Element {
        self.wait_for(Locator::XPath(xpath), xpath).await
    }

    async fn wait_for(&self, locator: Locator<'_>, what: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(locator)
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no element {what} on {} ({e}); the page reads:\n{}",
                self.path().await,
                self.page_text().await
            ),
        }
    }

    /// Types `text` into the field `css`, replacing what it held.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Clicks an element: a button, a link, a checkbox or a radio button.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Clicks what submits a form or follows a link, and waits until the page it
    /// was on is gone, so that nothing is read from the old page by mistake.
    pub async fn click_and_load(&self, css: &str) {
        let old_page = self.find("html").await;
        self.click(css).await;
        // Polled like fantoccini's own waits: the old `<html>` goes stale on navigation.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while old_page.tag_name().await.is_ok() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "after clicking {css}, the page did not change"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn click_xpath(&self, xpath: &str) {
        self.find_xpath(xpath)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {xpath}: {e}"));
    }

    /// The visible text of an element.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// The current value of a form field.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// The path of the page the browser shows.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .map_or_else(|e| format!("<unknown: {e}>"), |u| u.path().to_owned())
    }

    /// The visible text of the page, for failure messages.
    async fn page_text(&self) -> String {
        match self
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
        {
            Ok(Value::String(text)) => text,
            Ok(other) => other.to_string(),
            Err(e) => format!("<unreadable: {e}>"),
        }
    }

    /// The page as the browser holds it (the serialised DOM).
    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    pub async fn refresh(&self) {
        self.client.refresh().await.unwrap();
    }

    pub async fn set_size(&self, (width, height): (u32, u32)) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    /// Saves a screenshot of the whole page (not just the window) as
    /// `screenshots/<name>.png` in the repository, for people to look at.
    pub async fn snap(&self, name: &str) {
        let (width, height) = self.client.get_window_size().await.unwrap();
        let sizes = self
            .client
            .execute(
                "return [Math.max(document.documentElement.scrollHeight, document.body.scrollHeight), window.innerHeight];",
                vec![],
            )
            .await
            .unwrap();
        let page = sizes[0].as_u64().unwrap_or(height);
        let viewport = sizes[1].as_u64().unwrap_or(height);
        // Grow the window until the viewport holds the whole page, then put it back.
        let grown = page > viewport;
        if grown {
            let full = height - viewport + page;
            self.client
                .set_window_size(to_u32(width), to_u32(full))
                .await
                .unwrap();
        }
        let png = self.client.screenshot().await.unwrap();
        if grown {
            self.client
                .set_window_size(to_u32(width), to_u32(height))
                .await
                .unwrap();
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Signs in through the sign-in page and waits for the tokens page.
    pub async fn sign_in(&self, username: &str, password: &str) {
        self.go("/login").await;
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.click_and_load("#sign-in").await;
        self.find("#whoami").await;
    }
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// An XPath string literal for `text` (which must not hold both quote kinds).
pub fn xpath_literal(text: &str) -> String {
    if text.contains('\'') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}
