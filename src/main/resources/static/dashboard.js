// pgrewrite dashboard: polls the JSON of /api every few seconds and redraws in place (no framework, no build step).
'use strict';
(function () {
  const POLL_MS = 3000;
  const STATES = ['pending', 'copying', 'verifying', 'swapping', 'done', 'stopped', 'failed'];
  const $ = (id) => document.getElementById(id);
  let session = null;
  let selected = null;     // execution id shown
  let detail = null;       // its latest JSON
  let parts = [];          // partitions as objects, index = cell
  let cells = [];          // the grid's <i> elements
  let pinned = -1;
  let auth = sessionStorage.getItem('pgrewrite.auth');
  let timer = null;

  function headers(extra) {
    const h = Object.assign({ 'X-Requested-With': 'XMLHttpRequest', 'Accept': 'application/json' }, extra || {});
    if (auth) h['Authorization'] = auth;
    return h;
  }

  async function getJson(path) {
    const res = await fetch(path, { headers: headers(), cache: 'no-store' });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.error || res.status + ' ' + res.statusText), { status: res.status });
    return body;
  }

  // ---- formatting
  const nf = new Intl.NumberFormat('en');
  function num(v) { return v == null || v < 0 ? '–' : nf.format(v); }
  function bytes(v) {
    if (v == null) return '–';
    const u = ['B', 'kB', 'MB', 'GB', 'TB'];
    let i = 0; let x = Math.abs(v);
    while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
    return (v < 0 ? '-' : '') + (i === 0 ? x : x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0)) + ' ' + u[i];
  }
  function duration(s) {
    if (s == null) return '–';
    s = Math.round(s);
    if (s >= 3600) return Math.floor(s / 3600) + 'h' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm';
    if (s >= 60) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
    return s + 's';
  }
  function time(iso) { return iso ? new Date(iso).toLocaleString() : '–'; }
  function clock(ms) { return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }); }
  function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c])); }

  // ---- session and sign-in
  async function loadSession() {
    try {
      session = await getJson('/api/session');
    } catch (e) {
      if (e.status === 401 && auth) { auth = null; sessionStorage.removeItem('pgrewrite.auth'); return loadSession(); }
      session = { actionsEnabled: false, message: e.message };
    }
    $('who').textContent = session.user ? 'signed in as ' + session.user : '';
    $('user').hidden = $('password').hidden = $('signin-button').hidden = !!session.user || !session.actionsEnabled;
    $('signout').hidden = !session.user;
    renderActions();
  }

  $('signin').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    auth = 'Basic ' + btoa(unescape(encodeURIComponent($('user').value + ':' + $('password').value)));
    try {
      const s = await getJson('/api/session');
      if (!s.user) throw new Error('not signed in');
      sessionStorage.setItem('pgrewrite.auth', auth);
      $('password').value = '';
      showResult({ ok: true, out: 'Signed in as ' + s.user + '.' });
    } catch (e) {
      auth = null;
      showResult({ ok: false, err: e.status === 401 ? 'Wrong user name or password.' : e.message });
    }
    loadSession();
  });
  $('signout').addEventListener('click', () => { auth = null; sessionStorage.removeItem('pgrewrite.auth'); loadSession(); });

  // ---- executions list
  async function loadList() {
    const list = await getJson('/api/executions');
    const ul = $('list');
    ul.textContent = '';
    if (!list.length) { ul.innerHTML = '<li class="muted" style="padding:6px 12px">No executions yet.</li>'; }
    for (const e of list) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = '#' + e.id;
      a.dataset.id = e.id;
      a.className = String(e.id) === String(selected) ? 'selected' : '';
      a.innerHTML = '<b>' + e.id + '</b> ' + esc(e.jobKey || '?') + ' <span class="badge ' + e.status + '">' + e.status + '</span>'
        + '<small>' + time(e.started) + '</small>';
      li.appendChild(a);
      ul.appendChild(li);
    }
    if (selected == null && list.length) selected = list[0].id;
  }

  window.addEventListener('hashchange', () => {
    selected = location.hash.slice(1) || null;
    pinned = -1;
    cells = [];
    $('grid').textContent = '';
    $('result').hidden = true;
    refresh();
  });

  // ---- one execution
  async function loadDetail() {
    if (selected == null) { $('empty').hidden = false; $('execution').hidden = true; return; }
    const d = await getJson('/api/executions/' + encodeURIComponent(selected));
    detail = d;
    const cols = d.columns;
    parts = d.partitions.map((row) => { const p = {}; cols.forEach((c, i) => { p[c] = row[i]; }); return p; });
    $('empty').hidden = true;
    $('execution').hidden = false;
    render(d);
  }

  function render(d) {
    $('title').textContent = 'Execution ' + d.id + ' · ' + d.job + ' on ' + d.table;
    const st = $('status');
    st.textContent = d.status + (d.controls && d.controls.paused ? ' · paused' : '');
    st.className = 'badge ' + d.status;
    const notes = [];
    if (d.failure) notes.push('<span class="fail">Failed: ' + esc(d.failure) + '</span>');
    if (d.controls && d.controls.paused) notes.push('<span class="warn">Paused: copies wait at a chunk boundary, no swap starts.</span>');
    if (d.controls && d.controls.swapsPostponed) notes.push('<span class="warn">Swaps postponed: copying and verifying go on, swaps wait.</span>');
    if (d.controls && d.controls.throttled) notes.push('<span class="warn">Throttled: ' + esc(d.controls.throttled) + '</span>');
    if (d.controls && d.controls.settings && Object.keys(d.controls.settings).length) {
      notes.push('<span class="warn">Changed while running: ' + esc(Object.entries(d.controls.settings).map((e) => e[0] + '=' + e[1]).join(' ')) + '</span>');
    }
    if (d.stragglers) notes.push('<span class="warn">' + d.stragglers + ' straggler' + (d.stragglers > 1 ? 's' : '') + ': copying for more than twice the usual time (orange outline).</span>');
    const running = ['STARTING', 'STARTED', 'STOPPING'].includes(d.status);
    if (running && !d.running) notes.push('<span class="warn">Marked ' + d.status + ' but no process runs it (the one that did died): `pgrewrite recover ' + d.id + '`, then restart.</span>');
    $('notes').innerHTML = notes.join(' ');

    const n = parts.length;
    const done = d.counts.done || 0;
    const pct = d.rowsTotal > 0 ? Math.min(100, 100 * d.rowsDone / d.rowsTotal) : (n ? 100 * done / n : 0);
    $('bar-done').style.width = (d.status === 'COMPLETED' ? 100 : pct).toFixed(1) + '%';
    $('f-progress').textContent = done + ' of ' + n + ' partitions' + (d.rowsTotal > 0 ? ' · ' + pct.toFixed(0) + '%' : '');
    $('f-rows').textContent = num(d.rowsDone) + (d.rowsTotal > 0 ? ' of ~' + num(d.rowsTotal) : '');
    $('f-rate').textContent = d.rowsPerSecond > 0 ? num(d.rowsPerSecond) : '–';
    $('f-mbs').textContent = d.bytesPerSecond > 0 ? (d.bytesPerSecond / 1e6).toFixed(1) : '–';
    $('f-eta').textContent = d.etaSeconds != null ? duration(d.etaSeconds) : '–';
    $('f-disk').textContent = bytes(d.diskInFlight) + ' in flight · peak ' + bytes(d.diskPeak) + (d.diskBudget ? ' of ' + bytes(d.diskBudget) : '');
    $('f-started').textContent = time(d.started);

    $('legend').innerHTML = STATES.map((s) => '<span style="--c:var(--' + s + ')">' + s + ' ' + (d.counts[s] || 0) + '</span>').join('')
      + '<span style="--c:#fff;box-shadow:none"><b style="color:var(--straggler)">▢</b> straggler</span>';
    renderGrid();
    renderActions();
    if (pinned >= 0 && pinned < n) $('info').innerHTML = describe(parts[pinned]);
    charts(d);
  }

  function renderGrid() {
    const grid = $('grid');
    const n = parts.length;
    const size = n <= 400 ? 14 : n <= 1200 ? 10 : 7;
    grid.style.setProperty('--cell', size + 'px');
    grid.style.setProperty('--gap', (size > 8 ? 2 : 1) + 'px');
    if (cells.length !== n) {
      grid.textContent = '';
      cells = [];
      const frag = document.createDocumentFragment();
      for (let i = 0; i < n; i++) { const c = document.createElement('i'); c.dataset.i = i; frag.appendChild(c); cells.push(c); }
      grid.appendChild(frag);
      window.pgrewriteGridAt = performance.now(); // when the cells were first drawn (measured by DashboardAtScaleTest)
    }
    for (let i = 0; i < n; i++) {
      const p = parts[i];
      const cls = p.state + (p.straggler ? ' straggler' : '') + (i === pinned ? ' pinned' : '');
      if (cells[i].className !== cls) cells[i].className = cls;
    }
  }

  function describe(p) {
    const rows = [
      ['state', p.state + (p.straggler ? ' (straggler)' : '')],
      ['rows', num(p.rowsDone) + (p.rowsTotal >= 0 ? ' of ' + (p.state === 'done' ? '' : '~') + num(p.rowsTotal) : '')],
      ['size before → after', bytes(p.bytesBefore) + ' → ' + bytes(p.bytesAfter)],
      ['copy time', p.copyMs != null ? duration(p.copyMs / 1000) + (p.rowsPerSecond > 0 ? ' · ' + num(p.rowsPerSecond) + ' rows/s' : '') : '–'],
      ['lock wait / hold', (p.lockWaitMs != null ? p.lockWaitMs + ' ms' : '–') + ' / ' + (p.lockHoldMs != null ? p.lockHoldMs + ' ms' : '–')],
      ['swap attempts', p.attempts != null ? p.attempts : '–'],
      ['verification', p.verify || '–'],
    ];
    return '<b>' + esc(p.name) + '</b><table class="kv">' + rows.map((r) => '<tr><td>' + r[0] + '</td><td>' + esc(r[1]) + '</td></tr>').join('')
      + (p.reason ? '<tr><td>reason</td><td class="reason">' + esc(p.reason) + '</td></tr>' : '') + '</table>';
  }

  const grid = $('grid');
  const tip = $('tip');
  grid.addEventListener('mouseover', (ev) => {
    const i = ev.target.dataset && ev.target.dataset.i;
    if (i == null) return;
    tip.innerHTML = describe(parts[i]);
    tip.hidden = false;
  });
  grid.addEventListener('mousemove', (ev) => {
    const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = ev.clientY + 16 + tip.offsetHeight > window.innerHeight ? ev.clientY - tip.offsetHeight - 10 : ev.clientY + 16;
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  });
  grid.addEventListener('mouseleave', () => { tip.hidden = true; });
  grid.addEventListener('click', (ev) => {
    const i = ev.target.dataset && ev.target.dataset.i;
    if (i == null) return;
    if (pinned >= 0 && cells[pinned]) cells[pinned].classList.remove('pinned');
    pinned = Number(i);
    cells[pinned].classList.add('pinned');
    $('info').classList.remove('muted');
    $('info').innerHTML = describe(parts[pinned]);
  });

  // ---- actions
  $('cleanup').addEventListener('change', () => renderActions());
  function renderActions() {
    const note = $('actions-note');
    const canAct = session && session.actionsEnabled;
    note.textContent = !session ? '' : !session.actionsEnabled ? session.message : !session.user ? 'Sign in to act on a job.' : '';
    const d = detail;
    const live = d && ['STARTING', 'STARTED', 'STOPPING'].includes(d.status) && d.running;
    const over = d && ['COMPLETED', 'ABANDONED'].includes(d.status);
    const c = (d && d.controls) || {};
    const supported = new Set((session && session.actions) || []);
    for (const b of document.querySelectorAll('#actions button')) {
      const a = b.dataset.action;
      let enabled = !!d && canAct && (supported.size === 0 || supported.has(a));
      if (a === 'stop') enabled = enabled && live;
      if (a === 'pause') enabled = enabled && live && !c.paused;
      if (a === 'resume') enabled = enabled && !over && (c.paused == null || c.paused);
      if (a === 'postpone-swap') enabled = enabled && !over && !c.swapsPostponed;
      if (a === 'allow-swap') enabled = enabled && !over && (c.swapsPostponed == null || c.swapsPostponed);
      if (a === 'restart') enabled = enabled && !over && !live;
      // abandon --cleanup also works on an execution abandoned before
      if (a === 'abandon') enabled = enabled && !live && d.status !== 'COMPLETED' && (d.status !== 'ABANDONED' || $('cleanup').checked);
      // Signed out, the buttons still answer (the server refuses them and says why); without credentials configured
      // on the server nobody can act, and the note says how to configure them.
      b.disabled = !d || !canAct || (!!session.user && !enabled);
    }
    $('cleanup-label').hidden = !(session && session.cleanup);
  }

  document.getElementById('actions').addEventListener('click', async (ev) => {
    const b = ev.target.closest('button');
    if (!b || !detail) return;
    const action = b.dataset.action;
    const cleanup = action === 'abandon' && $('cleanup').checked;
    const question = b.dataset.confirm.replace('{id}', detail.id) + (cleanup ? ' With cleanup: its working copies, capture'
      + ' and sync triggers, change logs and shadow column are dropped (partitions already swapped stay swapped).' : '');
    if (!window.confirm(question)) return;
    const body = new URLSearchParams();
    if (cleanup) body.set('cleanup', 'true');
    const h = headers({ 'Content-Type': 'application/x-www-form-urlencoded' });
    // The CSRF token as the server's cookie holds it now (another site can neither read it nor set the header).
    const cookie = session && document.cookie.split('; ').find((c) => c.startsWith(session.csrfCookie + '='));
    if (cookie) h[session.csrfHeader] = decodeURIComponent(cookie.slice(session.csrfCookie.length + 1));
    try {
      const res = await fetch('/api/executions/' + detail.id + '/' + action, { method: 'POST', headers: h, body: body, cache: 'no-store' });
      const r = await res.json().catch(() => ({ error: res.status + ' ' + res.statusText }));
      showResult(res.ok ? r : { ok: false, refused: true, err: r.error || res.statusText });
    } catch (e) {
      showResult({ ok: false, err: e.message });
    }
    refresh();
  });

  function showResult(r) {
    const el = $('result');
    el.hidden = false;
    el.className = r.ok ? '' : 'refused';
    el.textContent = [r.out, r.err].filter((x) => x).join('\n') + (r.exitCode != null && !r.ok ? '\n(exit code ' + r.exitCode + ')' : '');
  }

  // ---- charts: inline SVG, one polyline or bars per series
  function chart(svg, series, opts) {
    const w = Math.max(200, svg.clientWidth || 400);
    const h = 150; const l = 48; const r = 8; const t = 8; const b = 18;
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    const pts = series.flatMap((s) => s.points);
    if (!pts.length) { svg.innerHTML = '<text x="' + (w / 2) + '" y="75" text-anchor="middle">no data yet</text>'; return; }
    const x0 = Math.min(...pts.map((p) => p[0])); const x1 = Math.max(x0 + 1000, ...pts.map((p) => p[0]));
    const ymax = Math.max(1, opts.limit || 0, ...pts.map((p) => p[1])) * 1.1;
    const X = (v) => l + (w - l - r) * (v - x0) / (x1 - x0);
    const Y = (v) => h - b - (h - t - b) * v / ymax;
    let out = '';
    for (const f of [0, 0.5, 1]) {
      const v = ymax / 1.1 * f;
      out += '<line x1="' + l + '" x2="' + (w - r) + '" y1="' + Y(v) + '" y2="' + Y(v) + '" stroke="#eceff3"/>'
        + '<text x="' + (l - 4) + '" y="' + (Y(v) + 3) + '" text-anchor="end">' + esc(opts.fmt(v)) + '</text>';
    }
    out += '<text x="' + l + '" y="' + (h - 4) + '">' + clock(x0) + '</text><text x="' + (w - r) + '" y="' + (h - 4) + '" text-anchor="end">' + clock(x1) + '</text>';
    if (opts.limit) {
      out += '<line x1="' + l + '" x2="' + (w - r) + '" y1="' + Y(opts.limit) + '" y2="' + Y(opts.limit) + '" stroke="#d92d20" stroke-dasharray="4 3"/>'
        + '<text x="' + (w - r) + '" y="' + (Y(opts.limit) - 3) + '" text-anchor="end" style="fill:#d92d20">budget ' + esc(opts.fmt(opts.limit)) + '</text>';
    }
    for (const s of series) {
      if (s.bars) {
        const bw = Math.max(2, Math.min(8, (w - l - r) / Math.max(1, s.points.length) - 1));
        for (const p of s.points) {
          out += '<rect x="' + (X(p[0]) - bw / 2) + '" y="' + Y(p[1]) + '" width="' + bw + '" height="' + (Y(0) - Y(p[1])) + '" fill="' + s.color + '"><title>'
            + esc(p[2] || '') + ': ' + esc(opts.fmt(p[1])) + '</title></rect>';
        }
      } else {
        out += '<polyline fill="none" stroke="' + s.color + '" stroke-width="1.5" points="' + s.points.map((p) => X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1)).join(' ') + '"/>';
      }
    }
    svg.innerHTML = out;
  }

  function charts(d) {
    const c = d.charts;
    chart($('chart-throughput'), [{ points: c.throughput.map((p) => [p[0], p[1]]), color: '#2f7de1' }],
      { fmt: (v) => v >= 1e6 ? (v / 1e6).toFixed(1) + 'M' : v >= 1e3 ? (v / 1e3).toFixed(0) + 'k' : v.toFixed(0) });
    chart($('chart-disk'), [{ points: c.disk, color: '#8b5cf6' }], { fmt: bytes, limit: d.diskBudget });
    chart($('chart-swaps'), [{ points: c.swaps.map((p) => [p[0], p[1], p[3]]), color: '#f0a020', bars: true }],
      { fmt: (v) => v.toFixed(v < 10 ? 1 : 0) + ' ms' });
  }

  // ---- the loop
  async function refresh() {
    clearTimeout(timer);
    try {
      await loadList();
      await loadDetail();
      for (const a of document.querySelectorAll('#list a')) a.classList.toggle('selected', String(a.dataset.id) === String(selected));
      $('updated').textContent = 'updated ' + new Date().toLocaleTimeString() + (detail && detail.serverMs != null ? ' · ' + detail.serverMs + ' ms' : '');
    } catch (e) {
      $('updated').textContent = 'update failed: ' + e.message;
    }
    timer = setTimeout(refresh, POLL_MS);
  }

  selected = location.hash.slice(1) || null;
  loadSession().then(refresh);
})();
