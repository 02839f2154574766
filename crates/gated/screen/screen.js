// The traveller's screen. Receives the display state from gated as server-sent events
// (already in the traveller's language) and shows it. Loads nothing from anywhere else.
// window.gateScreen keeps, for tests and the latency benchmark, how long each state took from
// the gate's decision to show it to the frame that painted it.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const metrics = { latencies: [], seqs: [], last: null };
  window.gateScreen = metrics;

  const svg = (body) =>
    '<svg viewBox="0 0 100 100" fill="none" stroke="currentColor" stroke-width="4" ' +
    'stroke-linecap="round" stroke-linejoin="round">' + body + '</svg>';
  const passport = '<rect x="28" y="14" width="44" height="60" rx="4"/>' +
    '<circle cx="50" cy="38" r="9"/><path d="M38 60h24"/>';
  const reader = '<path d="M14 82h72l-8 10H22z"/>';
  const face = '<circle cx="50" cy="44" r="22"/><circle cx="42" cy="40" r="2.5" fill="currentColor"/>' +
    '<circle cx="58" cy="40" r="2.5" fill="currentColor"/><path d="M42 54q8 6 16 0"/>';
  const camera = '<rect x="36" y="4" width="28" height="12" rx="3"/><circle cx="50" cy="10" r="3"/>';
  const hand = (mirror) => '<g' + (mirror ? ' transform="translate(100 0) scale(-1 1)"' : '') + '>' +
    '<path d="M30 90V52l-8-14q-3-6 3-8t9 5l6 10V20q0-6 6-6t6 6v28"/>' +
    '<path d="M52 48V28q0-6 6-6t6 6v22"/><path d="M64 50V34q0-6 6-6t6 6v30q0 26-24 26H40"/>' +
    '<path d="M40 48V12" stroke="#ffd24a" stroke-width="9"/></g>';
  const PICTOGRAMS = {
    'place-document': svg(passport + reader),
    'reading-document': svg(passport + reader + '<path d="M80 30q8 10 0 20M86 24q12 16 0 32"/>'),
    'replace-document': svg(passport + reader + '<path d="M80 20l-8 8 8 8"/>'),
    'look-at-camera': svg(camera + face + '<path d="M50 66v14M34 92q16-14 32 0"/>'),
    'face-photo': svg(camera + face + '<path d="M50 66v14M34 92q16-14 32 0"/>'),
    'place-left-index': svg(hand(false)),
    'place-right-index': svg(hand(true)),
    'try-again': svg('<path d="M78 50a28 28 0 1 1-8-20"/><path d="M72 14v16H56"/>'),
    'proceed': svg('<path d="M16 50h62M58 28l22 22-22 22"/>'),
    'proceed-to-booth': svg('<path d="M16 50h62M58 28l22 22-22 22"/>'),
    'see-officer': svg('<circle cx="50" cy="30" r="14"/><path d="M30 24h40l-4-10H34z"/>' +
      '<path d="M22 92q0-34 28-34t28 34"/>'),
    'out-of-service': svg('<circle cx="50" cy="50" r="38"/><path d="M24 76L76 24"/>'),
    'maintenance': svg('<path d="M62 14a18 18 0 0 0-16 26L16 70l14 14 30-30a18 18 0 0 0 26-16l-12 6-10-10z"/>'),
    'fire-release': svg('<path d="M12 88h76M24 88V14h40v74"/><circle cx="78" cy="22" r="6"/>' +
      '<path d="M76 32l-10 22 12 10v18M66 54l-8 12"/>'),
  };

  let countdownEnd = null;
  let closedText = '';
  let current = null;
  let lastSeq = null;

  function setText(id, text) {
    const el = $(id);
    el.textContent = text || '';
    el.hidden = !text;
  }

  function tickCountdown() {
    if (countdownEnd === null) return;
    const left = Math.max(0, Math.ceil((countdownEnd - performance.now()) / 1000));
    $('countdown-s').textContent = String(left);
  }
  setInterval(tickCountdown, 250);

  function languageButtons(s) {
    const box = $('language-buttons');
    const tags = s.languages.map((l) => l.tag).join(',');
    if (box.dataset.tags !== tags) {
      box.textContent = '';
      for (const l of s.languages) {
        const b = document.createElement('button');
        b.type = 'button';
        b.lang = l.tag;
        b.dataset.tag = l.tag;
        b.textContent = l.name;
        b.addEventListener('click', () => choose(l.tag));
        box.appendChild(b);
      }
      box.dataset.tags = tags;
    }
    for (const b of box.children) {
      b.setAttribute('aria-pressed', String(b.dataset.tag === s.lang));
    }
  }

  function choose(tag) {
    fetch('/language', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'lang=' + encodeURIComponent(tag),
    }).catch(() => {});
  }

  function render(s) {
    current = s;
    document.documentElement.lang = s.lang;
    document.body.dataset.link = 'up';
    const main = $('screen');
    main.dataset.mode = s.mode;
    main.dataset.outcome = s.outcome || '';
    main.dataset.prompt = s.prompt_id;
    main.dataset.profile = s.profile;
    closedText = s.closed_text || closedText;
    setText('step', s.step);
    setText('attempt', s.attempt);
    $('prompt').textContent = s.prompt;
    const also = $('also');
    also.textContent = '';
    for (const a of s.also || []) {
      const li = document.createElement('li');
      li.lang = a.tag;
      li.dataset.tag = a.tag;
      li.textContent = a.text;
      also.appendChild(li);
    }
    also.hidden = !(s.also && s.also.length);
    $('pictogram').innerHTML = PICTOGRAMS[s.prompt_id] || '';
    const hints = $('hints');
    hints.textContent = '';
    for (const h of s.hints) {
      const li = document.createElement('li');
      li.dataset.hint = h.id;
      li.textContent = h.text;
      hints.appendChild(li);
    }
    hints.hidden = s.hints.length === 0;
    if (s.countdown_ms !== null && s.countdown_ms !== undefined) {
      countdownEnd = performance.now() + s.countdown_ms;
      $('countdown').hidden = false;
      $('countdown-label').textContent = s.countdown_label || '';
      tickCountdown();
    } else {
      countdownEnd = null;
      $('countdown').hidden = true;
    }
    const bc = s.biocart;
    const showBiocart = Boolean(bc) && s.mode === 'in_service' && !s.outcome;
    $('biocart').hidden = !showBiocart;
    if (showBiocart) {
      setText('welcome', s.idle ? bc.welcome : '');
      $('notice').hidden = !s.idle;
      $('notice-title').textContent = bc.notice_title;
      $('notice-body').textContent = bc.notice_body;
      const steps = [['bc-left', bc.finger_left, 2], ['bc-right', bc.finger_right, 3], ['bc-photo', bc.photo, 4]];
      for (const [id, label, n] of steps) {
        const li = $(id);
        li.textContent = label;
        const at = s.step_n || 0;
        li.dataset.state = at === n ? 'current' : at > n ? 'done' : 'pending';
        if (at === n) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
      }
    }
    // Languages: on the idle screen and while a traveller is being guided, not on an outcome.
    $('languages').hidden = s.mode !== 'in_service' || Boolean(s.outcome);
    setText('choose-language', s.idle ? s.choose_language : '');
    languageButtons(s);
    // The frame after the next one has painted this state. A new state (not the same one
    // again in another language) counts towards the delay from the gate's decision.
    const emitted = s.emitted_unix_ms;
    const seq = s.seq;
    const fresh = seq !== lastSeq;
    lastSeq = seq;
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (fresh) {
        metrics.latencies.push(Date.now() - emitted);
        metrics.seqs.push(seq);
      }
      metrics.last = { seq, prompt: s.prompt_id, lang: s.lang };
    }));
  }

  function linkDown() {
    document.body.dataset.link = 'down';
    const main = $('screen');
    main.dataset.mode = 'out_of_service';
    main.dataset.outcome = '';
    $('prompt').textContent = closedText;
    $('pictogram').innerHTML = PICTOGRAMS['out-of-service'];
    $('hints').textContent = '';
    $('also').hidden = true;
    $('biocart').hidden = true;
    $('countdown').hidden = true;
    setText('step', '');
    setText('attempt', '');
  }

  function connect() {
    const events = new EventSource('/events');
    events.addEventListener('state', (e) => render(JSON.parse(e.data)));
    events.onerror = () => linkDown();
  }
  connect();
})();
