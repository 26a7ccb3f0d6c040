// The portal's whole journey in a real browser: Debian Chromium driven by Playwright
// (playwright-core), axe-core (WCAG 2.2 A/AA) on every page, a screenshot of every step.
//
// 1. A parent finds voluntary social insurance, signs in (password + TOTP), applies for their
//    child under 16; the portal fetches the evidence after consent; two questions; the parent
//    signs with the remote signing certificate (ID card over mutual TLS at the identity role,
//    then the confirmation page); the application is delivered.
// 2. An official of the social insurance authority signs in to the back office with the
//    official certificate (mutual TLS) and approves.
// 3. The parent downloads the sealed decision from the wallet and shares it with the bank;
//    the bank opens the link and checks the file on the public verification page; the parent
//    sees the fetches in "who used my data".
//
// usage: node portal_journey_playwright.mjs DEMO_DIR OUT_DIR
//        (PLAYWRIGHT_CORE, AXE_PLAYWRIGHT: package paths; CHROMIUM: the browser)

import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");
const axePath = process.env.AXE_PLAYWRIGHT;
const AxeBuilder = axePath ? require(axePath).default : null;
const [demoDir, outDir] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
const manifest = JSON.parse(fs.readFileSync(path.join(demoDir, "demo.json"), "utf8"));
const ident = manifest.identity;
const base = manifest.base_url;
const apps = manifest.portal.applications;
const pin = manifest.trust_services.demo_pin;
const parent = ident.citizens[0];
const official = apps.officials.find((o) => o.organisation === "gasi");
const assert = (ok, what) => { if (!ok) throw new Error("assertion failed: " + what); };
const violations = [];
let analysed = 0;
let step = 0;

async function check(page, name) {
  step += 1;
  await page.screenshot({ path: path.join(outDir, `${String(step).padStart(2, "0")}-${name}.png`), fullPage: true });
  if (!AxeBuilder) return;
  const r = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).analyze();
  if (r.passes.length === 0) throw new Error(`axe-core checked nothing on ${name}`);
  analysed += 1;
  for (const v of r.violations) violations.push(`${name}: ${v.id} (${v.nodes.length}) ${v.nodes[0]?.target}`);
}

function totp(b32) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of b32.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
  const mac = crypto.createHmac("sha1", key).update(counter).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, "0");
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const facts = {};
try {
  // 1. The parent.
  const citizen = await browser.newContext({
    locale: "en-GB",
    viewport: { width: 390, height: 844 },
    acceptDownloads: true,
    ignoreHTTPSErrors: true, // the mutual-TLS listener's certificate is from the demo PKI
    clientCertificates: [{ origin: ident.certificate_login_url, pfxPath: path.join(demoDir, parent.id_card.pkcs12), passphrase: parent.id_card.pkcs12_password }],
  });
  const page = await citizen.newPage();
  await page.goto(`${base}/portal?lang=en`);
  await check(page, "home");
  await page.goto(`${base}/portal/services/voluntary-social-insurance?lang=en`);
  await check(page, "service");
  await page.getByRole("button", { name: "Apply online" }).click();
  await page.waitForURL(/\/id\/login/);
  await check(page, "identity-sign-in");
  await page.getByLabel(/registration number/i).fill(parent.registration_number);
  await page.getByLabel(/password/i).fill(parent.password);
  await page.getByLabel(/code/i).fill(totp(parent.totp_secret_base32));
  await page.locator("form[action$='login/password'] button[type=submit]").click();
  if (page.url().includes("/consent")) {
    await page.locator("button[value=allow]").click();
  }
  await page.waitForURL(/\/portal\/services\/voluntary-social-insurance\/apply/);
  await check(page, "who-for");
  await page.getByLabel(/Тэмүүлэн/).check();
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/\/consent/);
  await check(page, "consent-evidence");
  await page.getByRole("button", { name: "Agree and fetch" }).click();
  await page.waitForURL(/\/question\/0/);
  assert((await page.content()).includes("3 of 3 records were fetched"), "evidence fetched");
  await page.getByLabel(/Monthly income/).fill("abc");
  await page.getByRole("button", { name: "Continue" }).click();
  await check(page, "question-error");
  assert(await page.locator(".error-summary").isVisible(), "error summary");
  await page.getByLabel(/Monthly income/).fill("450000");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/\/question\/1/);
  await check(page, "question-2");
  await page.getByLabel(/How many months/).fill("6");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(/\/portal\/applications\/[^/?]+\?/);
  await check(page, "review");
  const appUrl = page.url().split("?")[0];
  await page.getByRole("button", { name: "Sign with my remote signing certificate" }).click();
  // Level high: the ID card (Playwright presents the PKCS#12 to the mutual-TLS listener).
  await page.waitForURL(/\/id\//);
  await check(page, "step-up");
  assert(page.url().includes("/id/login"), "step-up to the ID card: " + page.url());
  await page.locator(`a[href^="${ident.certificate_login_url}"]`).first().click();
  // The identity role asks consent for the CSC service scope, then shows what is signed.
  for (let i = 0; i < 4; i++) {
    try {
      await page.waitForURL((u) => u.toString().includes("/consent") || u.toString().startsWith(appUrl), { timeout: 15000 });
    } catch (e) {
      await page.screenshot({ path: path.join(outDir, "stuck.png"), fullPage: true });
      throw new Error("stuck at " + page.url() + ": " + (await page.content()).slice(0, 1500));
    }
    if (page.url().startsWith(appUrl)) break;
    await check(page, `confirm-${i}`);
    facts.confirmation = (facts.confirmation || "") + (await page.content());
    await page.locator("button[value=allow]").click();
  }
  await page.waitForURL((u) => u.toString().startsWith(appUrl));
  assert(facts.confirmation.includes(appUrl.split("/").pop()), "the confirmation names the application");
  delete facts.confirmation;
  await check(page, "submitted");
  const sent = await page.content();
  assert(sent.includes("With the organisation") || sent.includes("Байгууллагад очсон"), "delivered");
  facts.delivered = true;

  // 2. The official.
  const office = await browser.newContext({
    locale: "en-GB",
    ignoreHTTPSErrors: true,
    clientCertificates: [{ origin: ident.certificate_login_url, pfxPath: path.join(demoDir, official.pkcs12), passphrase: pin }],
  });
  const op = await office.newPage();
  await op.goto(`${apps.office}/signin?lang=en`);
  await op.waitForURL(/\/id\/login/);
  await op.locator(`a[href^="${ident.certificate_login_url}"]`).first().click();
  if (op.url().includes("/consent")) await op.locator("button[value=allow]").click();
  await op.waitForURL(/\/office$/);
  await check(op, "office-queue");
  const id = appUrl.split("/").pop();
  await op.goto(`${apps.office}/applications/${id}?lang=en`);
  await check(op, "office-application");
  await op.getByLabel("Approve").check();
  await op.getByLabel(/Grounds/).fill("Evidence from the registers suffices. Бүртгэлийн мэдээлэл хангалттай.");
  await op.getByRole("button", { name: "Confirm" }).click();
  await op.waitForURL(/\/office\/applications\//);
  await check(op, "office-decided");
  facts.decided = true;

  // 3. The decision, the bank, the tracker.
  await page.goto(`${base}/portal/wallet?lang=en`);
  await check(page, "wallet");
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("a[href$='/download']").first().click()]);
  const decision = path.join(outDir, "decision.pdf");
  await download.saveAs(decision);
  assert(fs.readFileSync(decision).subarray(0, 5).toString() === "%PDF-", "a PDF");
  await page.getByLabel("Share with").first().fill("Төрийн банк / State Bank");
  await page.getByLabel(/how many days/).first().fill("7");
  await page.getByRole("button", { name: "Create a share link" }).first().click();
  await check(page, "shared");
  const link = await page.locator("#share-link").innerText();
  const bank = await browser.newContext({ locale: "en-GB", acceptDownloads: true });
  const bp = await bank.newPage();
  const got = await (await bp.request.get(base + link)).body();
  assert(Buffer.compare(got, fs.readFileSync(decision)) === 0, "the bank gets the same file");
  await bp.goto(`${base}/portal/verify?lang=en`);
  await bp.setInputFiles("#file", { name: "decision.pdf", mimeType: "application/pdf", buffer: got });
  await bp.getByRole("button", { name: "Check", exact: true }).click();
  await bp.waitForLoadState();
  await check(bp, "bank-verifies");
  assert((await bp.content()).includes("TOTAL-PASSED"), "the bank sees a valid decision");
  facts.bank_verified = true;
  await page.goto(`${base}/portal/my-data?lang=en`);
  await check(page, "who-used-my-data");
  assert((await page.content()).includes("identify the applicant"), "the fetch is in the tracker");
  await page.goto(`${base}/portal/inbox?lang=en`);
  await check(page, "inbox");
} finally {
  await browser.close();
}
facts.axe_pages = analysed;
facts.axe_violations = violations;
facts.screenshots = step;
console.log(JSON.stringify(facts));
