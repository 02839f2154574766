//! HTML of the console: one layout, escaping, and small table helpers. No scripts, no external
//! assets: the only style is the inline sheet below, allowed by its hash in the CSP.

use std::fmt::Write as _;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::store::Role;

/// The console's only style sheet (inline; the CSP allows exactly this text by its hash).
pub const STYLE: &str = "
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;background:#f4f5f7}
a{color:#0b4f9c}
a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f0a000;outline-offset:1px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:2}
header{background:#12263f;color:#fff;padding:8px 20px;display:flex;align-items:center;gap:20px;flex-wrap:wrap}
header .brand{font-weight:700;font-size:17px}
header nav ul{list-style:none;margin:0;padding:0;display:flex;gap:4px;flex-wrap:wrap}
header nav a{color:#fff;text-decoration:none;padding:6px 10px;border-radius:4px;display:inline-block}
header nav a[aria-current=page]{background:#2f5d91}
header nav a:hover{background:#24476f}
header .who{margin-left:auto;display:flex;gap:10px;align-items:center}
header .who button{background:#fff;color:#12263f;border:0}
main{padding:16px 20px;max-width:1240px}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:18px;margin:22px 0 8px}h3{font-size:16px;margin:16px 0 6px}
table{border-collapse:collapse;background:#fff;margin:4px 0 14px;min-width:50%}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid #c9ced6;padding:5px 9px;text-align:left;vertical-align:top}
th{background:#e6e9ee}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td time{white-space:nowrap}
.status{font-weight:600;padding:1px 6px;border-radius:3px}
.s-silent{background:#b00020;color:#fff}.s-out_of_service{background:#8a4b00;color:#fff}
.s-active{background:#1e6b34;color:#fff}.s-idle{background:#dfe6ee;color:#1a1a1a}.s-unknown{background:#6b6b6b;color:#fff}
.note{color:#444}.muted{color:#555}
.flash{padding:8px 12px;border-radius:4px;margin:8px 0;border:1px solid}
.flash.ok{background:#e5f4ea;border-color:#1e6b34}.flash.error{background:#fbe9eb;border-color:#b00020}
form.inline{display:inline}
label{display:block;font-weight:600;margin:8px 0 3px}
label.inline{display:inline;font-weight:400;margin:0 4px 0 0}
td form.inline{display:block;margin:2px 0}
input[type=text],input[type=password],select,textarea{font:inherit;padding:5px 7px;border:1px solid #77808c;border-radius:3px;background:#fff}
textarea{width:100%;min-height:180px;font-family:ui-monospace,monospace;font-size:13px}
button{font:inherit;padding:6px 14px;border-radius:4px;border:1px solid #12263f;background:#12263f;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#12263f}
.diff li{font-family:ui-monospace,monospace;font-size:13px;word-break:break-all}
.add{color:#1e6b34}.del{color:#b00020}.chg{color:#8a4b00}
.login{max-width:380px;margin:60px auto;background:#fff;padding:20px 24px;border:1px solid #c9ced6;border-radius:6px}
";

/// The `Content-Security-Policy` of every console response: nothing from elsewhere, no
/// scripts, the one inline style sheet, forms only to this server, no framing.
pub fn content_security_policy() -> &'static str {
    static CSP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'"
        )
    })
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A unix-ms time as UTC text, with how long ago relative to `now_ms`.
pub fn when(at_ms: i64, now_ms: i64) -> String {
    format!(
        "<time datetime=\"{}\">{}</time> <span class=\"muted\">({})</span>",
        esc(&super::cli::utc(at_ms).replace(' ', "T")),
        esc(&super::cli::utc(at_ms)),
        esc(&ago(now_ms - at_ms))
    )
}

/// A duration in words: `42 s`, `5 min`, `3 h 10 min`, `2 d 4 h`.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn ago(ms: i64) -> String {
    if ms < 0 {
        format!("in {}", duration(-ms))
    } else {
        format!("{} ago", duration(ms))
    }
}

/// Who is logged in, for the header.
#[derive(Debug, Clone)]
pub struct Viewer<'a> {
    /// Account name.
    pub name: &'a str,
    /// Role.
    pub role: Role,
    /// The session's CSRF token (for the logout form).
    pub csrf: &'a str,
}

/// The navigation: (path, label, shown to whom).
const NAV: &[(&str, &str, Role)] = &[
    ("/console/fleet", "Fleet", Role::Viewer),
    ("/console/activity", "Activity", Role::Viewer),
    ("/console/incidents", "Referrals & alarms", Role::Viewer),
    ("/console/outbox", "Outbox lag", Role::Viewer),
    ("/console/lists", "Lists", Role::Viewer),
    ("/console/accounts", "Accounts", Role::Admin),
    ("/console/audit", "Audit", Role::Admin),
];

/// A whole page: header with navigation (for a logged-in operator), `<main>` with `body`.
pub fn page(title: &str, current: &str, viewer: Option<&Viewer<'_>>, body: &str) -> String {
    let mut html = String::with_capacity(body.len() + 4096);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · central console</title><style>{STYLE}</style></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a><header>\
         <span class=\"brand\">Central console</span>",
        esc(title)
    );
    if let Some(viewer) = viewer {
        html.push_str("<nav aria-label=\"Console\"><ul>");
        for (path, label, role) in NAV {
            if viewer.role >= *role {
                let current = if *path == current {
                    " aria-current=\"page\""
                } else {
                    ""
                };
                let _ = write!(
                    html,
                    "<li><a href=\"{path}\"{current}>{}</a></li>",
                    esc(label)
                );
            }
        }
        let _ = write!(
            html,
            "</ul></nav><div class=\"who\"><span>{} ({})</span>\
             <form class=\"inline\" method=\"post\" action=\"/console/logout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Log out</button></form></div>",
            esc(viewer.name),
            esc(viewer.role.as_str()),
            esc(viewer.csrf)
        );
    }
    let _ = write!(
        html,
        "</header><main id=\"main\"><h1>{}</h1>{body}</main></body></html>",
        esc(title)
    );
    html
}

/// A table with a caption, header cells and rows of already-escaped cells. Cells whose
/// header ends in `#` are numeric (right-aligned; the `#` is not shown).
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = format!("<table><caption>{}</caption><thead><tr>", esc(caption));
    let numeric: Vec<bool> = headers.iter().map(|h| h.ends_with('#')).collect();
    for header in headers {
        let (class, text) = match header.strip_suffix('#') {
            Some(text) => (" class=\"n\"", text),
            None => ("", *header),
        };
        let _ = write!(html, "<th scope=\"col\"{class}>{}</th>", esc(text));
    }
    html.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            html,
            "<tr><td colspan=\"{}\" class=\"muted\">None.</td></tr>",
            headers.len()
        );
    }
    for row in rows {
        html.push_str("<tr>");
        for (index, cell) in row.iter().enumerate() {
            let class = if numeric.get(index).copied().unwrap_or(false) {
                " class=\"n\""
            } else {
                ""
            };
            let _ = write!(html, "<td{class}>{cell}</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

/// A message box: `ok` (green) or `error` (red), text escaped.
pub fn flash(kind: &str, text: &str) -> String {
    format!(
        "<p class=\"flash {kind}\" role=\"{}\">{}</p>",
        if kind == "error" { "alert" } else { "status" },
        esc(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let html = table("t", &["a", "n#"], &[vec![esc("<b>"), "1".into()]]);
        assert!(html.contains("<td>&lt;b&gt;</td><td class=\"n\">1</td>"));
    }

    #[test]
    fn the_csp_allows_only_the_inline_sheet() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!csp.contains("unsafe") && !csp.contains("script"));
    }
}
