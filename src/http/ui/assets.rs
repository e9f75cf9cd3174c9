//! The UI's stylesheet and script, compiled into the binary: no CDN, nothing
//! fetched from elsewhere, and `script-src 'self'` holds.

use actix_web::http::header::{CacheControl, CacheDirective, CONTENT_TYPE};
use actix_web::HttpResponse;

const STYLESHEET: &str = include_str!("../../../static/trident.css");
const SCRIPT: &str = include_str!("../../../static/trident.js");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(3_600),
        ]))
        .body(body)
}

pub async fn get_stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

pub async fn get_script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}
