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
// When the API needs the user first (the backend's 401 or 403 JSON with a
// login_url: insufficient_user_authentication, a step-up of RFC 9470;
// insufficient_scope, more scope; not_connected, an API to connect), it
// goes there, returning to this page, where the call then succeeds. Any
// other answer of the API (its own 401: the backend already refreshed the
// token and tried again) is returned to the caller, who decides. A 503
// with Retry-After (the provider or the session store away) is waited out
// and tried again, twice at most.
const confidant = (() => {
  const header = { 'X-CSRF': '1' };
  let last = null;
  const here = () => location.pathname + location.search + location.hash;
  const wait = (r) => new Promise((ok) => setTimeout(ok, 1000 * Math.min(30, Number(r.headers.get('Retry-After')) || 1)));
  const sessionEnded = (r) => r.status === 401 && (r.headers.get('WWW-Authenticate') || '').startsWith('Cookie');
  const needsUser = ['insufficient_user_authentication', 'insufficient_scope', 'not_connected'];

  // userStep is the backend's answer when the user must act first (sign in
  // again with more, or connect an API), else null. Only the backend's
  // own answers say so (the Confidant-Step header, which it never passes
  // on from an API), and only for a page of its own sign-in routes.
  async function userStep(r) {
    if ((r.status !== 401 && r.status !== 403) || !needsUser.includes(r.headers.get('Confidant-Step'))) return null;
    try {
      const body = await r.clone().json();
      return body.login_url ? body : null;
    } catch {
      return null;
    }
  }

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
      const step = await userStep(r);
      if (step) {
        confidant.stepUp(step);
        throw new Error(`${step.error}: signing in again`);
      }
      return r;
    },
    // stepUp follows a step-up answer's login_url (the sign-in, or connect,
    // that meets the API's requirements), returning to this page.
    stepUp(answer, returnTo = here()) {
      const u = new URL(answer.login_url, location.origin);
      if (u.origin !== location.origin || !u.pathname.startsWith('/auth/')) throw new Error('login_url is not a sign-in route of this app');
      u.searchParams.set('return_to', returnTo);
      location.assign(u.href);
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
