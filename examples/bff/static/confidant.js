// confidant.js: the page's side of a confidant backend-for-frontend. Copy
// it into your single-page app (no dependencies, no build step). The page
// never holds a token: the backend adds it to each call.
//
//   const s = await confidant.session();   // {signed_in, user, expires_at, …}
//   const r = await confidant.fetch('/bff/orders/items');
//   confidant.signIn();  confidant.signOut();  confidant.silentSignIn();
//
// confidant.fetch sends the anti-forgery header the backend requires. When
// the backend itself answers 401 (its WWW-Authenticate starts with
// "Cookie"), the session ended: it goes to sign in, returning to this page.
// An API's own 401 (the backend already refreshed the token and tried
// again) is returned to the caller, who decides. A 503 with Retry-After
// (the provider or the session store away) is waited out and tried again,
// twice at most.
const confidant = (() => {
  const header = { 'X-CSRF': '1' };
  let last = null;
  const here = () => location.pathname + location.search + location.hash;
  const wait = (r) => new Promise((ok) => setTimeout(ok, 1000 * Math.min(30, Number(r.headers.get('Retry-After')) || 1)));
  const sessionEnded = (r) => r.status === 401 && (r.headers.get('WWW-Authenticate') || '').startsWith('Cookie');

  async function call(url, init = {}, tries = 3) {
    const headers = new Headers(init.headers);
    for (const [k, v] of Object.entries(header)) headers.set(k, v);
    const r = await fetch(url, { ...init, headers, credentials: 'same-origin' });
    if (r.status === 503 && r.headers.has('Retry-After') && tries > 1) {
      await wait(r);
      return call(url, init, tries - 1);
    }
    return r;
  }

  return {
    // session returns what the backend knows of the session:
    // {signed_in: false, login_url} or {signed_in: true, user, expires_at,
    // idle_expires_at, access_token_expires_at, login_url, logout_url}.
    async session() {
      const r = await call('/bff/session?return_to=' + encodeURIComponent(here()));
      if (r.status !== 200 && r.status !== 401) throw new Error(`session: ${r.status}`);
      last = await r.json();
      return last;
    },
    // fetch calls an API through the backend (a path like /bff/orders/…).
    async fetch(url, init) {
      const r = await call(url, init);
      if (sessionEnded(r)) {
        confidant.signIn();
        throw new Error('the session ended: signing in again');
      }
      return r;
    },
    // signIn goes to the provider's sign-in, returning to this page.
    signIn(returnTo = here()) {
      location.assign('/auth/login?return_to=' + encodeURIComponent(returnTo));
    },
    // silentSignIn tries to sign in without showing anything: back to this
    // page signed in if the provider still has a session, else signed out.
    silentSignIn(returnTo = here()) {
      location.assign('/auth/login?prompt=none&return_to=' + encodeURIComponent(returnTo));
    },
    // signOut ends the session here and at the provider (a navigation: the
    // provider's sign-out page cannot be reached by fetch).
    async signOut() {
      const s = last && last.logout_url ? last : await confidant.session();
      location.assign(s.logout_url || '/');
    },
  };
})();
