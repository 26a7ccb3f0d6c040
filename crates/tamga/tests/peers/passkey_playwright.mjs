// Passkeys in a real browser: Debian Chromium driven by Playwright (playwright-core), with a
// CDP virtual authenticator standing in for the phone or security key.
//
// 1. The citizen signs in with the ID card (Playwright presents the PKCS#12 as the TLS client
//    certificate), opens "Add a passkey" and registers one.
// 2. After signing out, a service asks for level substantial: the sign-in page offers the
//    passkey; one click, the authenticator verifies the user, and the service gets a code
//    whose ID token says substantial / hwk.
// Screenshots of each step go to OUT_DIR.
//
// usage: node passkey_playwright.mjs DEMO_DIR OUT_DIR   (PLAYWRIGHT_CORE: path of playwright-core)

import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");
// axe-core checks every page of the journey against WCAG 2.2 A/AA, when it is installed.
const axePath = process.env.AXE_PLAYWRIGHT;
const AxeBuilder = axePath ? require(axePath).default : null;
const violations = [];
let analysed = 0;
async function axe(page, name) {
  if (!AxeBuilder) return;
  const r = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  // A run that checked nothing would prove nothing.
  if (r.passes.length === 0) throw new Error(`axe-core checked nothing on ${name}`);
  analysed += 1;
  for (const v of r.violations) violations.push(`${name}: ${v.id} (${v.nodes.length})`);
}
const [demoDir, outDir] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
const manifest = JSON.parse(fs.readFileSync(path.join(demoDir, "demo.json"), "utf8"));
const ident = manifest.identity;
const issuer = ident.issuer;
// The relying party: a callback page served by this script, registered as a client.
const rpServer = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end("<!doctype html><html lang=en><title>Service</title><main><h1>Signed in</h1></main></html>");
});
await new Promise((ok) => rpServer.listen(0, "127.0.0.1", ok));
const callback = `http://127.0.0.1:${rpServer.address().port}/callback`;
const adminToken = fs.readFileSync(path.join(demoDir, ident.admin_token_file), "utf8").trim();
const reg = await fetch(`${ident.issuer}/admin/clients`, {
  method: "POST",
  headers: { authorization: "Bearer " + adminToken, "content-type": "application/json" },
  body: JSON.stringify({
    client_id: "playwright-rp", client_name_mn: "Туршилтын үйлчилгээ", client_name_en: "Test service",
    redirect_uris: [callback], token_endpoint_auth_method: "client_secret_basic",
  }),
});
const client = { client_id: "playwright-rp", client_secret: (await reg.json()).client_secret };
const citizen = ident.citizens[2];
const b64u = (b) => b.toString("base64url");
const assert = (ok, what) => { if (!ok) throw new Error("assertion failed: " + what); };

function authorizeUrl(acr, verifier, state) {
  const challenge = b64u(crypto.createHash("sha256").update(verifier).digest());
  const q = new URLSearchParams({
    client_id: client.client_id, response_type: "code", scope: "openid",
    redirect_uri: callback, state, nonce: "n-" + state, code_challenge: challenge,
    code_challenge_method: "S256", acr_values: acr, ui_locales: "en",
  });
  return `${issuer}/authorize?${q}`;
}

async function token(code, verifier) {
  const r = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: "Basic " + Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64"),
    },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: callback, code_verifier: verifier }),
  });
  const t = await r.json();
  assert(r.status === 200, "token: " + JSON.stringify(t));
  return JSON.parse(Buffer.from(t.id_token.split(".")[1], "base64url").toString());
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
const context = await browser.newContext({
  ignoreHTTPSErrors: true,
  clientCertificates: [{
    origin: ident.certificate_login_url,
    pfxPath: path.join(demoDir, citizen.id_card.pkcs12),
    passphrase: citizen.id_card.pkcs12_password,
  }],
});
const page = await context.newPage();

const cdp = await context.newCDPSession(page);
await cdp.send("WebAuthn.enable");
const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
  options: { protocol: "ctap2", transport: "internal", hasResidentKey: true,
    hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
});
const shot = async (name) => {
  await page.screenshot({ path: path.join(outDir, name + ".png"), fullPage: true });
  await axe(page, name);
};
const facts = {};

// 1. ID card sign-in, then register a passkey.
let verifier = b64u(crypto.randomBytes(32));
await page.goto(authorizeUrl("http://eidas.europa.eu/LoA/high", verifier, "s1"));
await shot("01-sign-in-high");
assert(!(await page.locator("#password").count()), "no password form at level high");
await Promise.all([
  page.waitForURL((u) => u.href.startsWith(callback)),
  page.getByRole("link", { name: "Sign in with ID card" }).click(),
]);
let cb = new URL(page.url());
let id = await token(cb.searchParams.get("code"), verifier);
assert(id.acr === "http://eidas.europa.eu/LoA/high", "ID card gives high");
await page.goto(`${issuer}/passkeys?lang=en`);
await shot("02a-add-passkey");
await page.getByRole("button", { name: "Add a passkey" }).click();
await page.getByText("Your passkey was added.").waitFor();
await shot("02-passkey-added");
const creds = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
assert(creds.credentials.length === 1 && creds.credentials[0].isResidentCredential, "one discoverable credential");
facts.registered = true;

// 2. Sign out; sign in again with the passkey at level substantial.
await page.goto(`${issuer}/logout`);
verifier = b64u(crypto.randomBytes(32));
await page.goto(authorizeUrl("http://eidas.europa.eu/LoA/substantial", verifier, "s2"));
await shot("03-sign-in-substantial");
assert(!(await page.locator("#password").count()), "no password form at level substantial");
await Promise.all([
  page.waitForURL((u) => u.href.startsWith(callback)),
  page.getByRole("button", { name: "Sign in with a passkey" }).click(),
]);
cb = new URL(page.url());
assert(cb.searchParams.get("iss") === issuer, "RFC 9207 iss");
id = await token(cb.searchParams.get("code"), verifier);
assert(id.acr === "http://eidas.europa.eu/LoA/substantial", "passkey gives substantial: " + id.acr);
assert(id.amr.includes("hwk"), "amr hwk");
facts.passkey_acr = id.acr;
const after = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
assert(after.credentials[0].signCount > creds.credentials[0].signCount, "counter advanced");

// 3. A service that needs high is not satisfied by the passkey session: step-up to the card.
verifier = b64u(crypto.randomBytes(32));
await page.goto(authorizeUrl("http://eidas.europa.eu/LoA/high", verifier, "s3"));
assert(page.url().includes("/id/login"), "step-up shows the sign-in page");
assert(!(await page.getByRole("button", { name: "Sign in with a passkey" }).isVisible()), "no passkey offered for high");
await shot("04-step-up-high");
facts.step_up = true;
// The Mongolian pages too (the default language), and the consent and mandate pages.
await page.goto(`${issuer}/mandates`);
await shot("05-mandates-mn");
verifier = b64u(crypto.randomBytes(32));
const mn = authorizeUrl("http://eidas.europa.eu/LoA/low", verifier, "s4").replace("ui_locales=en", "ui_locales=mn");
await page.goto(mn.replace("scope=openid", "scope=openid+profile"));
await shot("06-sign-in-mn");
// The portal's catalogue pages (server-rendered, no script), both languages.
const base = issuer.replace(/\/id$/, "");
await page.goto(`${base}/portal`);
await shot("07-portal-home-mn");
await page.goto(`${base}/portal/services?q=pension&lang=en`);
await shot("08-portal-search-en");
assert(await page.getByRole("link", { name: "Old-age pension" }).count() > 0 || (await page.content()).includes("old-age-pension"), "search finds the pension");
await page.goto(`${base}/portal/services/voluntary-social-insurance`);
await shot("09-portal-service-mn");
await page.goto(`${base}/portal/accessibility?lang=en`);
await shot("10-portal-accessibility-en");
// The portal as an OIDC client: sign in (the browser still has its ID-card session: only the
// consent page), then "who used my data".
// The portal lives at the node's own address (its callback is registered there).
await page.goto(`${manifest.base_url}/portal/signin?lang=en`);
if (page.url().includes("/id/login")) {
  await page.getByRole("link", { name: "Sign in with ID card" }).click();
}
await page.waitForURL((u) => u.pathname.endsWith("/consent") || u.pathname.endsWith("/my-data"));
if (page.url().includes("/consent")) {
  await shot("11-portal-consent-en");
  await Promise.all([
    page.waitForURL((u) => u.pathname.endsWith("/my-data")),
    page.getByRole("button", { name: "Allow" }).click(),
  ]);
}
await shot("12-who-used-my-data");
assert((await page.content()).includes(citizen.registration_number), "the portal shows the signed-in citizen");
await page.goto(`${manifest.base_url}/portal/wallet?lang=en`);
await shot("13-wallet");
await page.goto(`${manifest.base_url}/portal/verify?lang=en`);
await page.setInputFiles("#file", path.join(demoDir, "documents/sale-contract.signed.pdf"));
await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Check", exact: true }).click()]);
await page.getByRole("heading", { name: /Valid/ }).first().waitFor();
await shot("14-verify-result");
facts.axe_pages = analysed;
facts.axe_violations = violations;
assert(violations.length === 0, "axe-core: " + violations.join("; "));
await browser.close();
rpServer.close();
console.log(JSON.stringify(facts));
