// The page never holds a token: the backend adds it. Every call sends the
// anti-forgery header the backend requires.
const csrf = { 'X-CSRF': '1' };

async function session() {
  const r = await fetch('/bff/session', { headers: csrf });
  const s = await r.json();
  document.getElementById('signed-in').hidden = !s.signed_in;
  document.getElementById('signed-out').hidden = s.signed_in;
  document.getElementById('status').textContent = s.signed_in
    ? `Signed in as ${s.user.name} (${s.user.email})`
    : 'You are signed out.';
}

async function call(api) {
  const r = await fetch(`/bff/${api}/items`, { headers: csrf });
  const out = document.getElementById('result');
  if (r.status === 401) {
    out.textContent = 'Your session ended: sign in again.';
    await session();
    return;
  }
  const body = await r.json();
  out.textContent = `${r.status} ${JSON.stringify(body)}`;
  out.dataset.api = body.api || '';
  out.dataset.status = String(r.status);
  out.dataset.exp = String(body.exp || '');
}

document.getElementById('orders').onclick = () => call('orders');
document.getElementById('billing').onclick = () => call('billing');
session();
