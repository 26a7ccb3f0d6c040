// openid-client (npm, a certified OpenID relying party library) against a running Tamga node:
// discovery, PAR, PKCE, the code flow with ID-token validation against the JWKS (iss, aud,
// nonce, signature), userinfo, refresh rotation, introspection, revocation and RP-initiated
// logout. The browser is played with fetch and a cookie jar: password + TOTP sign-in.
//
// usage: node oidc_openid_client.mjs DEMO_DIR   (OPENID_CLIENT: path of the openid-client package)

import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";

const client = await import(process.env.OPENID_CLIENT ? path.join(process.env.OPENID_CLIENT, "build/index.js") : "openid-client");
const [demoDir] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(demoDir, "demo.json"), "utf8"));
const ident = manifest.identity;
const rp = ident.clients[0];
const citizen = ident.citizens[1];
const callback = rp.redirect_uris[0];
const assert = (ok, what) => { if (!ok) throw new Error("assertion failed: " + what); };

function totp(b32) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, value = 0; const out = [];
  for (const c of b32.replace(/=+$/, "")) {
    value = (value << 5) | alphabet.indexOf(c); bits += 5;
    if (bits >= 8) { out.push((value >>> (bits - 8)) & 255); bits -= 8; }
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = crypto.createHmac("sha1", Buffer.from(out)).update(counter).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0");
}

// A browser: cookies per host, redirects followed by hand.
const jar = new Map();
async function browse(url, init = {}) {
  const u = new URL(url);
  const cookies = jar.get(u.host) || {};
  const headers = { ...(init.headers || {}), cookie: Object.entries(cookies).map(([k, v]) => `${k}=${v}`).join("; ") };
  const r = await fetch(u, { ...init, headers, redirect: "manual" });
  for (const c of r.headers.getSetCookie()) {
    const [kv] = c.split(";");
    const [k, v] = kv.split("=");
    jar.set(u.host, { ...(jar.get(u.host) || {}), [k]: v });
  }
  return r;
}
async function follow(url, until) {
  for (let i = 0; i < 10; i++) {
    if (url.startsWith(until)) return { url };
    const r = await browse(url);
    if ([302, 303, 307].includes(r.status)) { url = new URL(r.headers.get("location"), url).href; continue; }
    return { url, page: await r.text(), status: r.status };
  }
  throw new Error("redirect loop");
}
const hidden = (html, name) => (html.match(new RegExp(`name="${name}" value="([^"]*)"`)) || [])[1];

// Tamga advertises client_secret_basic (and private_key_jwt), not client_secret_post.
const config = await client.discovery(new URL(ident.issuer), rp.client_id, undefined, client.ClientSecretBasic(rp.client_secret), {
  execute: [client.allowInsecureRequests],
});
const facts = {};

async function signIn(scope) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: callback, scope, state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
  });
  let { url: at, page } = await follow(url.href, callback);
  if (page && at.includes("/login")) {
    const tx = hidden(page, "tx");
    const r = await browse(new URL("login/password", at).href, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ tx, registration_number: citizen.registration_number, password: citizen.password, otp: totp(citizen.totp_secret_base32) }),
    });
    assert(r.status === 303, "password sign-in: " + r.status);
    ({ url: at, page } = await follow(new URL(r.headers.get("location"), at).href, callback));
  }
  if (page && at.includes("/consent")) {
    const r = await browse(new URL("consent", at).href, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ tx: hidden(page, "tx"), decision: "allow" }),
    });
    ({ url: at, page } = await follow(new URL(r.headers.get("location"), at).href, callback));
  }
  assert(!page, "reached the callback: " + at);
  const tokens = await client.authorizationCodeGrant(config, new URL(at), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
  return tokens;
}

const tokens = await signIn("openid profile offline_access");
const claims = tokens.claims();
assert(claims.acr === "http://eidas.europa.eu/LoA/low", "acr low");
facts.sub = claims.sub;
const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
assert(info.given_name === "Алтанцэцэг", "userinfo: " + JSON.stringify(info));
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
assert(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, "rotated");
assert(refreshed.claims().sub === claims.sub, "same subject after refresh");
let reused = false;
try { await client.refreshTokenGrant(config, tokens.refresh_token); } catch (e) { reused = e.error === "invalid_grant"; }
assert(reused, "a reused refresh token is refused");
const intro = await client.tokenIntrospection(config, refreshed.access_token);
assert(intro.active === false, "the reuse revoked the grant: " + JSON.stringify(intro));
facts.refresh = "rotated; reuse revoked the grant";
const again = await signIn("openid profile");
await client.tokenRevocation(config, again.access_token);
const after = await client.tokenIntrospection(config, again.access_token);
assert(after.active === false, "revoked access token is inactive");
const end = client.buildEndSessionUrl(config, { id_token_hint: again.id_token, post_logout_redirect_uri: "http://127.0.0.1:8400/", state: "bye" });
const r = await browse(end.href);
assert(r.status === 303 && r.headers.get("location") === "http://127.0.0.1:8400/?state=bye", "logout redirect");
facts.logout = true;
console.log(JSON.stringify(facts));
