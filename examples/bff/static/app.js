// The page's own code: everything about the session goes through
// confidant.js.
const $ = (id) => document.getElementById(id);

async function show() {
  const s = await confidant.session();
  $('signed-in').hidden = !s.signed_in;
  $('signed-out').hidden = s.signed_in;
  $('status').textContent = s.signed_in
    ? `Signed in as ${s.user.name} (${s.user.email})` + (s.refresh_unavailable ? ' (the provider is unreachable right now)' : '')
    : 'You are signed out.';
  $('status').dataset.signedIn = String(s.signed_in);
  if (s.signed_in) $('session-ends').textContent = `Session ends at the latest ${new Date(s.expires_at).toLocaleString()}.`;
}

async function call(api, method = 'GET') {
  const out = $('result');
  const r = await confidant.fetch(`/bff/${api}/items`, { method });
  const body = await r.json().catch(() => ({}));
  out.textContent = r.status === 401
    ? `The ${api} API refused the call (401): ${body.error_description || body.error || ''}`
    : `${r.status} ${JSON.stringify(body, null, 1)}`;
  out.dataset.api = body.api || api;
  out.dataset.status = String(r.status);
  out.dataset.exp = String(body.exp || '');
}

// Real time, through the backend too: a WebSocket (the backend checks its
// Origin and adds the token) and server-sent events (an EventSource, which
// cannot send headers: the backend accepts it as same-origin by
// Sec-Fetch-Site).
$('live').onclick = () => {
  const out = $('live-out');
  out.dataset.done = '';
  const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/bff/orders/live');
  ws.onopen = () => ws.send('ping');
  ws.onmessage = (e) => { out.textContent = e.data; out.dataset.done = 'ok'; ws.close(); };
  ws.onerror = () => { out.textContent = 'The WebSocket failed.'; out.dataset.done = 'error'; };
};
$('events').onclick = () => {
  const out = $('events-out'), got = [];
  out.dataset.done = '';
  const es = new EventSource('/bff/orders/events');
  es.onmessage = (e) => {
    got.push(e.data);
    out.textContent = got.join('\n');
    if (got.length === 3) { es.close(); out.dataset.done = 'ok'; }
  };
  es.onerror = () => { es.close(); if (got.length < 3) { out.textContent = 'The event stream failed.'; out.dataset.done = 'error'; } };
};
$('orders').onclick = () => call('orders');
$('billing').onclick = () => call('billing');
$('post').onclick = () => call('orders', 'POST');
$('login').onclick = () => confidant.signIn('/');
$('silent').onclick = () => confidant.silentSignIn('/');
$('logout').onclick = () => confidant.signOut();
show();
