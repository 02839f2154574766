//! A real browser for the screen tests: Debian's headless Chromium driven over WebDriver by
//! chromedriver (both from `cargo xtask setup`), with the pinned axe-core for accessibility.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// chromedriver and one browser session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where the screenshots of a test go: `target/screen-artefacts/NAME` (kept after the test, for
/// a person to open).
pub fn artefact_dir(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screen-artefacts").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// axe-core's script (`GATE_AXE_JS`, set by `cargo xtask test`).
pub fn axe_script() -> String {
    let path = std::env::var_os("GATE_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/axe-core-4.14.1/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "axe-core not found at {} ({err}): run `cargo xtask setup`",
            path.display()
        )
    })
}

impl Browser {
    /// Starts chromedriver and a headless Chromium whose page is `width` x `height` CSS
    /// pixels.
    pub fn start(width: u32, height: u32) -> Self {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} missing: run `cargo xtask setup` (Debian packages chromium, chromium-driver)"
            );
        }
        let port = super::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let deadline = Instant::now() + Duration::from_secs(20);
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let args = vec![
            "--headless=new".to_owned(),
            // Tests run as root in CI: Chromium's sandbox needs an unprivileged user.
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-default-apps".to_owned(),
            "--disable-extensions".to_owned(),
            format!("--window-size={width},{height}"),
        ];
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            }}
        });
        let mut browser = Self {
            driver,
            base,
            session: String::new(),
            agent,
        };
        let created = browser.post("/session", capabilities);
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        // The window holds more than the page: make the page itself the panel's size.
        browser.open("about:blank");
        let inner = browser.run("return [window.innerWidth, window.innerHeight];", json!([]));
        let (w, h) = (
            inner[0].as_u64().unwrap_or(u64::from(width)),
            inner[1].as_u64().unwrap_or(u64::from(height)),
        );
        let rect = json!({
            "width": 2 * u64::from(width) - w,
            "height": 2 * u64::from(height) - h,
        });
        browser.post(&browser.session_path("/window/rect"), rect);
        let inner = browser.run("return [window.innerWidth, window.innerHeight];", json!([]));
        assert_eq!(
            inner,
            json!([width, height]),
            "the page is not the panel's size"
        );
        browser
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        match self.agent.post(&url).send_json(body) {
            Ok(response) => response.into_json::<Value>().unwrap()["value"].clone(),
            Err(ureq::Error::Status(code, response)) => {
                panic!(
                    "WebDriver {path}: {code} {}",
                    response.into_string().unwrap_or_default()
                )
            }
            Err(err) => panic!("WebDriver {path}: {err}"),
        }
    }

    fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.base);
        self.agent
            .get(&url)
            .call()
            .unwrap()
            .into_json::<Value>()
            .unwrap()["value"]
            .clone()
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens `url`.
    pub fn open(&self, url: &str) {
        self.post(&self.session_path("/url"), json!({ "url": url }));
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page; its return value.
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.post(
            &self.session_path("/execute/sync"),
            json!({ "script": script, "args": args }),
        )
    }

    /// Runs an asynchronous script: it calls `arguments[arguments.length - 1](result)`.
    pub fn run_async(&self, script: &str, args: Value) -> Value {
        self.post(
            &self.session_path("/execute/async"),
            json!({ "script": script, "args": args }),
        )
    }

    /// Waits until `script` returns true (checked every 20 ms), at most `within`.
    pub fn wait_until(&self, what: &str, script: &str, args: Value, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.run(script, args.clone()) == Value::Bool(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {what}; it shows: {}",
                self.run(
                    "return JSON.stringify({m: window.gateScreen && window.gateScreen.last, \
                     text: document.body.innerText.slice(0, 400)})",
                    json!([])
                )
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The WebDriver id of the element `css` selects.
    fn element(&self, css: &str) -> String {
        let found = self.post(
            &self.session_path("/element"),
            json!({ "using": "css selector", "value": css }),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    /// Clicks the element `css` selects (a real pointer click, through WebDriver).
    pub fn click(&self, css: &str) {
        let element = self.element(css);
        self.post(
            &self.session_path(&format!("/element/{element}/click")),
            json!({}),
        );
    }

    /// Types `text` into the element `css` selects.
    pub fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.post(
            &self.session_path(&format!("/element/{element}/value")),
            json!({ "text": text }),
        );
    }

    /// A PNG of the page as shown.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let data = self.get(&self.session_path("/screenshot"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// axe-core's violations of impact serious or critical on the page as it is now.
    pub fn serious_accessibility_violations(&self, axe: &str) -> Vec<Value> {
        self.run(axe, json!([]));
        let result = self.run_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then((r) => done(r.violations.map((v) => ({ id: v.id, impact: v.impact,
                  help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }))))
               .catch((e) => done([{ id: 'axe-error', impact: 'critical', help: String(e) }]));",
            json!([]),
        );
        result
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect()
    }

    /// Every visible text element whose text does not fit its box or the window.
    pub fn overflowing_text(&self) -> Vec<Value> {
        let found = self.run(
            "const out = [];
             const W = window.innerWidth, H = window.innerHeight;
             for (const el of document.querySelectorAll('body *')) {
               if (!el.textContent.trim() || el.children.length > 0 && el.tagName !== 'LI') continue;
               const r = el.getBoundingClientRect();
               if (r.width === 0 && r.height === 0) continue;
               const style = getComputedStyle(el);
               if (style.visibility === 'hidden' || style.display === 'none') continue;
               if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1 ||
                   r.left < -1 || r.top < -1 || r.right > W + 1 || r.bottom > H + 1) {
                 out.push({ id: el.id, tag: el.tagName, text: el.textContent.slice(0, 60),
                   box: [Math.round(r.left), Math.round(r.top), Math.round(r.right), Math.round(r.bottom)],
                   scroll: [el.scrollWidth, el.clientWidth, el.scrollHeight, el.clientHeight] });
               }
             }
             return out;",
            json!([]),
        );
        found.as_array().cloned().unwrap_or_default()
    }

    /// Pairs of the page's visible blocks (prompt, hints, notice, language buttons, ...) that
    /// overlap: text drawn over other text.
    pub fn overlapping_blocks(&self) -> Vec<Value> {
        let found = self.run(
            "const ids = ['step', 'attempt', 'pictogram', 'prompt', 'also', 'hints', 'countdown', 'welcome',
                          'biocart-steps', 'notice', 'choose-language', 'language-buttons'];
             const boxes = [];
             for (const id of ids) {
               const el = document.getElementById(id);
               if (!el || el.closest('[hidden]')) continue;
               const r = el.getBoundingClientRect();
               if (r.width === 0 || r.height === 0 || !el.textContent.trim() && id !== 'pictogram') continue;
               boxes.push([id, r]);
             }
             const out = [];
             for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
               const [a, ra] = boxes[i], [b, rb] = boxes[j];
               const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
               const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
               if (w > 1 && h > 1) out.push([a, b, Math.round(w), Math.round(h)]);
             }
             return out;",
            json!([]),
        );
        found.as_array().cloned().unwrap_or_default()
    }

    /// Bytes the page and its resources took to load (the event stream left out).
    pub fn page_weight(&self) -> u64 {
        let weight = self.run(
            "const nav = performance.getEntriesByType('navigation')[0];
             return performance.getEntriesByType('resource')
               .filter((e) => !e.name.endsWith('/events'))
               .reduce((sum, e) => sum + e.encodedBodySize, nav ? nav.encodedBodySize : 0);",
            json!([]),
        );
        weight.as_u64().unwrap_or(0)
    }

    /// Every resource the page loaded that did not come from `origin`.
    pub fn foreign_requests(&self, origin: &str) -> Vec<String> {
        let urls = self.run(
            "return performance.getEntriesByType('resource').map((e) => e.name)
               .concat([location.href]);",
            json!([]),
        );
        urls.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .filter(|u| !u.starts_with(origin))
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = self.agent.delete(&url).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
