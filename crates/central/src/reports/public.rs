//! The public waiting times, without login: `GET /v1/waiting-times` (JSON, in `openapi.yaml`)
//! and `GET /waiting` (a server-rendered page for travellers, English and Japanese, no
//! external asset, reloaded every minute). Both are per site only: no gate id, nothing
//! personal. The definition of every figure ([`WAITING_TIME_DEFINITION`]) is written on the
//! page and in the JSON.

use crate::console::html::esc;
use crate::now_ms;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{SiteWaiting, WAITING_TIME_DEFINITION, WaitingTimes};
use crate::http::{Api, blocking, json_response};

/// Path of the JSON figures.
pub const WAITING_TIMES_JSON_PATH: &str = "/v1/waiting-times";
/// Path of the travellers' page.
pub const WAITING_PAGE_PATH: &str = "/waiting";

/// The routes of the public waiting times (merged into [`crate::http::router`]).
pub fn routes() -> Router<Api> {
    Router::new()
        .route(WAITING_TIMES_JSON_PATH, get(waiting_times_json))
        .route(WAITING_PAGE_PATH, get(waiting_page))
}

async fn current(api: Api) -> Result<WaitingTimes, Response> {
    let storage = api.storage;
    let now = now_ms();
    blocking(move || storage.waiting_times(now)).await
}

async fn waiting_times_json(State(api): State<Api>) -> Response {
    match current(api).await {
        Ok(figures) => {
            let mut response = json_response(StatusCode::OK, &figures);
            response.headers_mut().insert(
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=30"),
            );
            response
        }
        Err(response) => response,
    }
}

/// The page's Content-Security-Policy: nothing from elsewhere; only its own inline style and
/// reload script.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; \
    script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn waiting_page(State(api): State<Api>) -> Response {
    let (status, body) = match current(api).await {
        Ok(figures) => (StatusCode::OK, render_page(&figures)),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, render_unavailable()),
    };
    (
        status,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP)),
        ],
        body,
    )
        .into_response()
}

/// Whole minutes shown for a wait of `seconds`: rounded to the nearest minute (half up).
pub fn display_minutes(seconds: i64) -> i64 {
    (seconds + 30) / 60
}

/// `YYYY-MM-DD HH:MM` (UTC) of a Unix-ms time.
pub fn utc_minute(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(86_400_000);
    let minute_of_day = unix_ms.rem_euclid(86_400_000) / 60_000;
    // Civil-from-days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        minute_of_day / 60,
        minute_of_day % 60
    )
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP',sans-serif;
margin:0;color:#1a1a1a;background:#ffffff;line-height:1.5}
header,main,footer{max-width:60rem;margin:0 auto;padding:1rem 1.25rem}
header{border-bottom:4px solid #0b3d91}
h1{font-size:2rem;margin:0 0 .25rem;color:#0b3d91}
h2{font-size:1.4rem;margin:1.5rem 0 .5rem}
.ja{display:block;font-size:.8em;font-weight:normal}
section{border:2px solid #0b3d91;border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
section h2{margin-top:0}
dl{margin:0}dt{font-weight:bold;margin-top:.75rem}dd{margin:.25rem 0 0}
.figure{font-size:2.25rem;font-weight:bold;color:#0b3d91}
.nodata{font-size:1.25rem;font-weight:bold}
footer{font-size:.95rem;border-top:1px solid #555555;margin-top:2rem}
";

fn arrival_html(out: &mut String, site: &SiteWaiting, index: usize) {
    let Some(arrival) = site.arrival else {
        return;
    };
    out.push_str(
        "<dt>Arrival: waiting time to immigration inspection\
         <span class=\"ja\" lang=\"ja\">入国審査までの待ち時間</span></dt><dd>",
    );
    match (arrival.median_s, arrival.p90_s) {
        (Some(median), Some(p90)) => {
            let _ = write!(
                out,
                "<p><span class=\"figure\" id=\"arrival-median-{index}\">{median_min} min</span> \
                 typical (median) <span lang=\"ja\">中央値 {median_min}分</span></p>\
                 <p>9 in 10 travellers waited at most <strong id=\"arrival-p90-{index}\">{p90_min} \
                 min</strong> <span lang=\"ja\">10人中9人は{p90_min}分以内</span></p>\
                 <p>From {records} travellers who reached the officer in the last 60 minutes \
                 <span lang=\"ja\">過去60分間に審査を受けた{records}人から算出</span></p>",
                median_min = display_minutes(median),
                p90_min = display_minutes(p90),
                records = arrival.records,
            );
        }
        _ => out.push_str(
            "<p class=\"nodata\">No data: no traveller reached the officer in the last 60 minutes \
             <span class=\"ja\" lang=\"ja\">データなし(過去60分間に審査を受けた人はいません)</span></p>",
        ),
    }
    out.push_str("</dd>");
}

fn departure_html(out: &mut String, site: &SiteWaiting, index: usize) {
    let Some(departure) = site.departure else {
        return;
    };
    let _ = write!(
        out,
        "<dt>Departure: travellers through the automated gates\
         <span class=\"ja\" lang=\"ja\">出国:顔認証ゲートの通過人数</span></dt><dd>\
         <p><span class=\"figure\" id=\"departure-hour-{index}\">{hour}</span> in the last 60 \
         minutes <span lang=\"ja\">過去60分間 {hour}人</span></p>\
         <p><strong id=\"departure-15-{index}\">{quarter}</strong> in the last 15 minutes \
         <span lang=\"ja\">過去15分間 {quarter}人</span></p>\
         <p>{gates} automated gates here <span lang=\"ja\">ゲート数 {gates}</span></p></dd>",
        hour = departure.passed_last_hour,
        quarter = departure.passed_last_15_min,
        gates = departure.face_gates,
    );
}

/// The travellers' page of `figures` (every value HTML-escaped).
pub fn render_page(figures: &WaitingTimes) -> String {
    let mut out = String::with_capacity(8 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Waiting times / 待ち時間</title><style>{STYLE}</style></head><body>\
         <header><h1>Waiting times <span class=\"ja\" lang=\"ja\">待ち時間のご案内</span></h1>\
         <p>Updated <time>{updated}</time> UTC. This page reloads every minute. \
         <span lang=\"ja\">{updated} (UTC) 更新。1分ごとに更新されます。</span></p></header><main>",
        updated = esc(&utc_minute(figures.generated_at_ms)),
    );
    if figures.sites.is_empty() {
        out.push_str(
            "<p class=\"nodata\">No figures yet. <span lang=\"ja\">現在表示できる情報はありません。</span></p>",
        );
    }
    for (index, site) in figures.sites.iter().enumerate() {
        let _ = write!(
            out,
            "<section aria-labelledby=\"site-{index}\"><h2 id=\"site-{index}\">{airport} \
             Terminal {terminal}, {zone}</h2><dl>",
            airport = esc(&site.site.airport),
            terminal = esc(&site.site.terminal),
            zone = esc(&site.site.zone),
        );
        arrival_html(&mut out, site, index);
        departure_html(&mut out, site, index);
        out.push_str("</dl></section>");
    }
    let _ = write!(
        out,
        "</main><footer><h2>How these figures are made \
         <span class=\"ja\" lang=\"ja\">算出方法</span></h2><p id=\"definition\">{definition}</p>\
         <p>Minutes on this page are the figures in seconds rounded to the nearest minute. \
         <span lang=\"ja\">分単位の表示は秒を四捨五入したものです。到着時の待ち時間は、BioCartで記録を\
         作成してから入国審査官が記録を受け取るまでの時間です。</span></p></footer>\
         <script>setTimeout(function(){{location.reload();}},60000);</script></body></html>",
        definition = esc(WAITING_TIME_DEFINITION),
    );
    out
}

fn render_unavailable() -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Waiting times / 待ち時間</title><style>{STYLE}</style></head><body><main>\
         <h1>Waiting times <span class=\"ja\" lang=\"ja\">待ち時間のご案内</span></h1>\
         <p class=\"nodata\">The figures are not available at the moment. \
         <span lang=\"ja\">ただいま表示できません。</span></p></main>\
         <script>setTimeout(function(){{location.reload();}},60000);</script></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::{ArrivalWait, DepartureThroughput, Site, WAITING_WINDOW_MS};

    #[test]
    fn everything_from_the_gates_is_escaped_and_minutes_round_half_up() {
        assert_eq!(display_minutes(89), 1);
        assert_eq!(display_minutes(90), 2);
        assert_eq!(display_minutes(29), 0);
        assert_eq!(utc_minute(1_795_701_600_000), "2026-11-26 14:00");
        let figures = WaitingTimes {
            generated_at_ms: 1_795_701_600_000,
            window_ms: WAITING_WINDOW_MS,
            definition: WAITING_TIME_DEFINITION,
            sites: vec![SiteWaiting {
                site: Site {
                    airport: "HND".into(),
                    terminal: "<T3>".into(),
                    zone: "a\"&'b".into(),
                },
                arrival: Some(ArrivalWait {
                    records: 0,
                    median_s: None,
                    p90_s: None,
                }),
                departure: Some(DepartureThroughput {
                    face_gates: 2,
                    passed_last_hour: 7,
                    passed_last_15_min: 3,
                }),
            }],
        };
        let page = render_page(&figures);
        assert!(page.contains("Terminal &lt;T3&gt;, a&quot;&amp;&#39;b"));
        assert!(!page.contains("<T3>"));
        assert!(page.contains("No data"));
        assert!(page.contains("id=\"departure-hour-0\">7<"));
    }
}
