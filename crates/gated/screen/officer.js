// The officer's view: polls the gate's state every second and sends the officer's actions
// with this session's form token. Shows reason codes in plain words, never anything personal.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const lang = document.documentElement.lang;
  let labels = {};

  function fill(list, items) {
    list.textContent = '';
    for (const item of items) {
      const li = document.createElement('li');
      li.textContent = item.text + ' (' + item.code + ')';
      li.dataset.code = item.code;
      list.appendChild(li);
    }
  }

  function render(v) {
    labels = v.labels;
    $('title').textContent = labels['officer-title'] + ' — ' + v.gate_id;
    $('signed-in').textContent = v.signed_in_as;
    $('call-title').textContent = labels['officer-called-because'];
    $('when-label').textContent = labels['officer-when'];
    $('transaction-label').textContent = labels['officer-transaction'];
    $('state-label').textContent = labels['officer-state'];
    $('door-label').textContent = labels['officer-door'];
    $('devices-label').textContent = labels['officer-devices'];
    $('clear').textContent = labels['officer-clear'];
    $('take-out').textContent = labels['officer-take-out'];
    $('put-back').textContent = labels['officer-put-back'];
    $('sign-out').textContent = labels['officer-sign-out'];
    $('call').hidden = !v.call;
    $('no-call').hidden = Boolean(v.call);
    $('no-call').textContent = labels['officer-no-call'];
    if (v.call) {
      fill($('reasons'), v.call.reasons);
      $('when').textContent = new Date(v.call.ended_at_unix_ms).toLocaleString(lang);
      $('transaction').textContent = v.call.transaction_id;
    }
    $('service').textContent = v.in_service ? labels['officer-in-service'] : labels['officer-out-of-service'];
    fill($('oos-reasons'), v.out_of_service_reasons);
    const outputs = Object.entries((v.door && v.door.outputs) || {}).map(([k, on]) => k + (on ? ' ●' : ' ○'));
    const inputs = Object.entries((v.door && v.door.inputs) || {}).map(([k, on]) => k + (on ? ' ●' : ' ○'));
    const lock = v.door_unlocked ? labels['officer-door-unlocked'] : labels['officer-door-locked'];
    $('door').textContent = lock + ' · ' + outputs.concat(inputs).join(' · ');
    const devices = $('devices');
    devices.textContent = '';
    for (const d of v.devices) {
      const tr = document.createElement('tr');
      for (const cell of [d.name, d.backend, d.health, d.detail]) {
        const td = document.createElement('td');
        td.textContent = cell;
        tr.appendChild(td);
      }
      devices.appendChild(tr);
    }
    $('take-out').hidden = v.maintenance;
    $('put-back').hidden = !v.maintenance;
    document.body.dataset.loaded = 'yes';
  }

  async function refresh() {
    try {
      const r = await fetch('/officer/state?lang=' + encodeURIComponent(lang), { credentials: 'same-origin' });
      if (r.status === 401) { location.href = '/officer'; return; }
      if (r.ok) render(await r.json());
    } catch (e) { /* the next poll tries again */ }
  }

  async function act(action) {
    const body = 'action=' + encodeURIComponent(action) + '&csrf=' + encodeURIComponent(csrf);
    const r = await fetch('/officer/action', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body,
    });
    const answer = await r.json().catch(() => ({ ok: false, message: String(r.status) }));
    $('result').textContent = answer.ok ? labels['officer-done'] : answer.message;
    document.body.dataset.lastAction = action + ':' + (answer.ok ? 'ok' : 'refused');
    refresh();
  }

  for (const b of document.querySelectorAll('button[data-action]')) {
    b.addEventListener('click', () => act(b.dataset.action));
  }
  refresh();
  setInterval(refresh, 1000);
})();
