"""A once-only application end to end, as browsers and a signing tool would do it: a parent
applies for voluntary social insurance for their child under 16; the portal fetches the three
pieces of evidence over Khur after consent and asks only what no register holds (wrong answers
kept and explained); the parent signs the PDF/A application with pyHanko (their signing
certificate) and uploads it; the portal delivers it to the social insurance authority over the
exchange; an official signs in to the back office with an official certificate (mutual TLS,
level high), asks for more, the parent answers, the official approves; the decision (PDF/A,
sealed at PAdES B-LTA) is in the parent's wallet, pyHanko validates it, pikepdf finds the PDF/A
parts, the verification code and a share link lead a bank to it; the tracker shows the
fetches; another citizen sees none of it.

usage: portal_application.py DEMO_DIR PYHANKO_PEER
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import warnings

warnings.simplefilter("ignore")
import requests

DEMO, PEER = sys.argv[1], sys.argv[2]
sys.argv = sys.argv[:2]
import oidc_authlib as rp  # noqa: E402  (shared browser helpers; reads DEMO_DIR from argv)

m = rp.manifest
base = m["base_url"]
apps = m["portal"]["applications"]
facts = {}
tmp = tempfile.mkdtemp()
roots = os.path.join(DEMO, "documents/trust-anchors.pem")


def csrf_of(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def sign_in(citizen):
    browser = requests.Session()
    url, page = rp.follow(browser, base + "/portal/signin?lang=en", base + "/portal/callback")
    tx = rp.parse(page.text).values["tx"]
    r = browser.post(rp.urljoin(url, "login/password"), data={"tx": tx, "registration_number": citizen["registration_number"], "password": citizen["password"], "otp": rp.totp(citizen["totp_secret_base32"])}, allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.status_code
    url, page = rp.follow(browser, rp.urljoin(url, r.headers["location"]), base + "/portal/callback")
    if page is not None and "/consent" in url:
        r = browser.post(rp.urljoin(url, "consent"), data={"tx": rp.parse(page.text).values["tx"], "decision": "allow"}, allow_redirects=False, timeout=10)
        url = rp.urljoin(url, r.headers["location"])
    r = browser.get(url, allow_redirects=False, timeout=30)
    assert r.status_code == 303, (r.status_code, r.text[:300])
    return browser


def p12_pem(path, password):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    key, cert, extra = pkcs12.load_key_and_certificates(open(path, "rb").read(), password.encode())
    c, k = os.path.join(tmp, "oc.pem"), os.path.join(tmp, "ok.pem")
    with open(c, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
        for x in extra or []:
            f.write(x.public_bytes(serialization.Encoding.PEM))
    with open(k, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return c, k


def pyhanko(*args):
    out = subprocess.run([sys.executable, PEER, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


parent, other = rp.ident["citizens"][0], rp.ident["citizens"][1]
browser = sign_in(parent)

# Notifications by e-mail: a wrong address is explained, a right one kept.
page = browser.get(apps["inbox"] + "?lang=en", timeout=30).text
r = browser.post(apps["inbox"] + "?lang=en", data={"csrf": csrf_of(page), "email": "not an address"}, timeout=30)
assert r.status_code == 422 and "Enter an e-mail address" in r.text and 'value="not an address"' in r.text, r.status_code
r = browser.post(apps["inbox"] + "?lang=en", data={"csrf": csrf_of(page), "email": "parent@example.org"}, allow_redirects=False, timeout=30)
assert r.status_code == 303, r.status_code

# Whom for: the child under 16 is offered, the 17-year-old is not.
page = browser.get(apps["apply"] + "?lang=en", timeout=30).text
assert "Тэмүүлэн" in page and "Номин" not in page, page[:2000]
child = re.search(r'name="who" value="([^"]+)"><label for="who\d">Тэмүүлэн', page).group(1)
assert browser.post(apps["apply"], data={"who": child}, allow_redirects=False, timeout=30).status_code == 403, "no CSRF token, no application"
r = browser.post(apps["apply"] + "?lang=en", data={"who": child, "csrf": csrf_of(page)}, allow_redirects=False, timeout=30)
assert r.status_code == 303 and "/consent" in r.headers["location"], r.status_code
consent_url = base + r.headers["location"]
app_id = re.search(r"/applications/([^/]+)/consent", consent_url).group(1)

# Consent: what, about whom, from whom, why, on what legal basis.
page = browser.get(consent_url, timeout=30).text
for s in ("General Authority for State Registration", "General Authority for Social Insurance", "Law on Social Insurance", "avoid double insurance", "УБ15150111"):
    assert s in page, s
r = browser.post(consent_url, data={"csrf": csrf_of(page)}, allow_redirects=False, timeout=60)
assert r.status_code == 303 and "/question/0" in r.headers["location"], r.status_code

# One question per page; a wrong answer is explained and kept.
q0 = base + r.headers["location"]
page = browser.get(q0, timeout=30).text
assert "3 of 3 records were fetched" in page, page[:3000]
r = browser.post(q0, data={"csrf": csrf_of(page), "answer": "лаа"}, timeout=30)
assert r.status_code == 422 and "enter a whole number" in r.text and 'value="лаа"' in r.text and 'href="#answer"' in r.text
r = browser.post(q0, data={"csrf": csrf_of(page), "answer": "450 000"}, allow_redirects=False, timeout=30)
assert r.status_code == 303 and r.headers["location"].startswith("/portal/applications/" + app_id + "/question/1")
q1 = base + r.headers["location"]
page = browser.get(q1, timeout=30).text
r = browser.post(q1, data={"csrf": csrf_of(page), "answer": "13"}, timeout=30)
assert r.status_code == 422 and "between 1 and 12" in r.text
r = browser.post(q1, data={"csrf": csrf_of(page), "answer": "6"}, allow_redirects=False, timeout=30)
assert r.status_code == 303
app_url = base + "/portal/applications/" + app_id
page = browser.get(app_url + "?lang=en", timeout=30).text
assert "450000" in page and "fetched from the register" in page

# The application file is PDF/A; the parent signs it with pyHanko and uploads it.
doc = browser.get(app_url + "/document", timeout=30)
assert doc.status_code == 200 and doc.content.startswith(b"%PDF-")
unsigned = os.path.join(tmp, "application.pdf")
open(unsigned, "wb").write(doc.content)
import pikepdf  # noqa: E402
with pikepdf.open(unsigned) as pdf:
    assert pdf.open_metadata().pdfa_status == "2B", "PDF/A-2b declared"


def signing_p12(reg):
    for c in m["trust_services"]["citizens"]:
        if c["registration_number"] == reg:
            return os.path.join(DEMO, c["files"]["sign"]["pkcs12"])
    raise AssertionError("no signing certificate for " + reg)


pin = m["trust_services"]["demo_pin"]
signed = os.path.join(tmp, "application.signed.pdf")
# B-LTA with the demo TSA (a B-B signature cannot be shown to predate a later revocation).
pyhanko("sign", unsigned, signed, signing_p12(parent["registration_number"]), pin, roots, base + "/tsa")
by_other = os.path.join(tmp, "application.other.pdf")
pyhanko("sign", unsigned, by_other, signing_p12(other["registration_number"]), pin, roots, base + "/tsa")
edited = os.path.join(tmp, "edited.pdf")
raw = bytearray(doc.content)
raw[raw.find(b"/Lang (mn)") + 7] = ord("x")
open(edited, "wb").write(raw)
edited_signed = os.path.join(tmp, "edited.signed.pdf")
pyhanko("sign", edited, edited_signed, signing_p12(parent["registration_number"]), pin, roots, "-")


def upload(path):
    page = browser.get(app_url + "?lang=en", timeout=30).text
    return browser.post(app_url + "/sign?lang=en", data={"csrf": csrf_of(page)}, files={"file": ("signed.pdf", open(path, "rb").read(), "application/pdf")}, allow_redirects=False, timeout=120)


r = upload(edited_signed)
assert r.status_code == 422 and "its content differs" in r.text, (r.status_code, r.text[-1500:])
r = upload(by_other)
assert r.status_code == 422 and "not signed by the applicant" in r.text, (r.status_code, r.text[r.text.find("<main"):][:700])
r = upload(unsigned)
assert r.status_code == 422, r.status_code
r = upload(os.path.join(DEMO, "demo.json"))
assert r.status_code == 422 and "PAdES (PDF) or CAdES" in r.text, "neither PDF nor CMS"
r = upload(signed)
assert r.status_code == 303, (r.status_code, r.text[-1500:])
page = browser.get(app_url + "?lang=en", timeout=30).text
assert "With the organisation" in page, page[-2000:]
facts["delivered"] = True

# A second application, for the parent themself, signed with the remote signing certificate
# (CSC API through the identity role): ID card sign-in at level high, then the confirmation
# page that names the application; no file leaves the portal.
def walk(session, url, card, stop):
    """Follows the browser through the identity role until a URL starts with `stop`."""
    for _ in range(30):
        if url.startswith(stop):
            return url
        r = session.get(url, allow_redirects=False, timeout=60)
        if r.status_code in (301, 302, 303, 307):
            url = rp.urljoin(url, r.headers["location"])
            continue
        assert r.status_code == 200, (url, r.status_code, r.text[r.text.find("<main"):][:800])
        if "/login" in url:
            link = [l for l in rp.parse(r.text).links if l.startswith(rp.ident["certificate_login_url"])][0]
            r2 = requests.get(link, cert=card, verify=os.path.join(DEMO, rp.ident["tls_roots"]), allow_redirects=False, timeout=30)
            assert r2.status_code in (302, 303), (r2.status_code, r2.text[:300])
            url = rp.urljoin(link, r2.headers["location"])
            continue
        if "/consent" in url:
            facts.setdefault("confirmations", []).append(r.text)
            r2 = session.post(rp.urljoin(url, "consent"), data={"tx": rp.parse(r.text).values["tx"], "decision": "allow"}, allow_redirects=False, timeout=10)
            url = rp.urljoin(url, r2.headers["location"])
            continue
        raise AssertionError((url, r.text[:800]))
    raise AssertionError("too many steps")


page = browser.get(apps["apply"] + "?lang=en", timeout=30).text
r = browser.post(apps["apply"] + "?lang=en", data={"who": "self", "csrf": csrf_of(page)}, allow_redirects=False, timeout=30)
own_consent = base + r.headers["location"]
own_id = re.search(r"/applications/([^/]+)/consent", own_consent).group(1)
page = browser.get(own_consent, timeout=30).text
r = browser.post(own_consent, data={"csrf": csrf_of(page)}, allow_redirects=False, timeout=60)
for n, answer in enumerate(["800000", "12"]):
    qurl = base + "/portal/applications/" + own_id + "/question/" + str(n) + "?lang=en"
    page = browser.get(qurl, timeout=30).text
    assert browser.post(qurl, data={"csrf": csrf_of(page), "answer": answer}, allow_redirects=False, timeout=30).status_code == 303
own_url = base + "/portal/applications/" + own_id
page = browser.get(own_url + "?lang=en", timeout=30).text
assert "Sign with my remote signing certificate" in page
assert browser.get(own_url + "/document", timeout=30).status_code == 200
r = browser.post(own_url + "/remote-sign?lang=en", data={"csrf": csrf_of(page)}, allow_redirects=False, timeout=30)
assert r.status_code == 303, r.status_code
walk(browser, rp.urljoin(own_url, r.headers["location"]), rp.card_files(parent), own_url)
page = browser.get(own_url + "?lang=en", timeout=30).text
assert "With the organisation" in page, page[page.find("<main"):][:1500]
assert any(own_id in p for p in facts.pop("confirmations")), "the confirmation page names the application"
facts["remote_signed"] = True

# For a company: the legal representative applies for the employer's arrears reference of
# the company (mandate from the state register); the service is not offered for oneself.
org_apply = base + "/portal/services/org-social-insurance-debt/apply"
page = browser.get(org_apply + "?lang=en", timeout=30).text
assert "Example Trade" in page and "For myself" not in page, page[page.find("<main"):][:800]
company = re.search(r'name="who" value="([^"]+)"><label for="who\d">Жишээ Трейд', page).group(1)
r = browser.post(org_apply + "?lang=en", data={"who": company, "csrf": csrf_of(page)}, allow_redirects=False, timeout=30)
org_app = base + r.headers["location"].rsplit("/consent", 1)[0]
page = browser.get(org_app + "/consent?lang=en", timeout=30).text
assert "State register record of the company" in page and "9100001" in page
assert browser.post(org_app + "/consent", data={"csrf": csrf_of(page)}, allow_redirects=False, timeout=60).status_code == 303
page = browser.get(org_app + "/question/0?lang=en", timeout=30).text
assert "3 of 3 records were fetched" in page, page[page.find("<main"):][:800]
assert browser.post(org_app + "/question/0", data={"csrf": csrf_of(page), "answer": "2025"}, allow_redirects=False, timeout=30).status_code == 303
page = browser.get(org_app + "?lang=en", timeout=30).text
assert "Example Trade" in page and "9100001" in page and page.count("fetched from the register") == 3
facts["company_application"] = True

# A third application signed by openssl (CAdES detached, `openssl cms -sign -cades`): the
# portal completes it to CAdES B-LTA over exactly its file and keeps both as ASiC-S.
page = browser.get(apps["apply"] + "?lang=en", timeout=30).text
r = browser.post(apps["apply"] + "?lang=en", data={"who": child, "csrf": csrf_of(page)}, allow_redirects=False, timeout=30)
third = base + r.headers["location"].rsplit("/consent", 1)[0]
page = browser.get(third + "/consent", timeout=30).text
assert browser.post(third + "/consent", data={"csrf": csrf_of(page)}, allow_redirects=False, timeout=60).status_code == 303
for n, answer in enumerate(["300000", "3"]):
    assert browser.post(f"{third}/question/{n}", data={"csrf": csrf_of(page), "answer": answer}, allow_redirects=False, timeout=30).status_code == 303
third_pdf = os.path.join(tmp, "third.pdf")
open(third_pdf, "wb").write(browser.get(third + "/document", timeout=30).content)
cert_pem, key_pem = p12_pem(signing_p12(parent["registration_number"]), pin)
chain_pem = os.path.join(tmp, "chain.pem")
pems = [c + "-----END CERTIFICATE-----\n" for c in open(cert_pem).read().split("-----END CERTIFICATE-----") if "BEGIN" in c]
open(chain_pem, "w").write("".join(pems[1:]))
p7s = os.path.join(tmp, "third.p7s")
out = subprocess.run(["openssl", "cms", "-sign", "-binary", "-cades", "-md", "sha256", "-in", third_pdf, "-signer", cert_pem, "-inkey", key_pem, "-certfile", chain_pem, "-outform", "DER", "-out", p7s], capture_output=True, text=True)
assert out.returncode == 0, out.stderr
page = browser.get(third + "?lang=en", timeout=30).text
r = browser.post(third + "/sign?lang=en", data={"csrf": csrf_of(page)}, files={"file": ("third.p7s", open(p7s, "rb").read(), "application/pkcs7-signature")}, allow_redirects=False, timeout=120)
assert r.status_code == 303, (r.status_code, r.text[r.text.find("<main"):][:800])
facts["cades_upload"] = True

# The official: ID sign-in with the official certificate over mutual TLS (level high).
official = [o for o in apps["officials"] if o["organisation"] == "gasi"][0]
cert_file, key_file = p12_pem(os.path.join(DEMO, official["pkcs12"]), pin)
office = requests.Session()
url, page = rp.follow(office, apps["office"] + "/signin?lang=en", base + "/office/callback")
assert "/id/login" in url, url
link = [l for l in rp.parse(page.text).links if l.startswith(rp.ident["certificate_login_url"])][0]
r = requests.get(link, cert=(cert_file, key_file), verify=os.path.join(DEMO, rp.ident["tls_roots"]), allow_redirects=False, timeout=30)
assert r.status_code in (302, 303), (r.status_code, r.text[:300])
url, page = rp.follow(office, r.headers["location"], base + "/office/callback")
if page is not None and "/consent" in url:
    r = office.post(rp.urljoin(url, "consent"), data={"tx": rp.parse(page.text).values["tx"], "decision": "allow"}, allow_redirects=False, timeout=10)
    url = rp.urljoin(url, r.headers["location"])
r = office.get(url, allow_redirects=False, timeout=30)
assert r.status_code == 303, (r.status_code, r.text[:500])
queue = office.get(apps["office"] + "?lang=en", timeout=30).text
assert app_id in queue, queue[-1500:]
case = office.get(apps["office"] + "/applications/" + app_id + "?lang=en", timeout=30).text
assert "WS100102_getCitizenBirthInfo" in case and "450000" in case, case[-2000:]
signed_copy = office.get(apps["office"] + "/applications/" + app_id + "/signed", timeout=30)
mine_signed = open(signed, "rb").read()
assert signed_copy.content.startswith(mine_signed) and len(signed_copy.content) > len(mine_signed), "the office has what the parent signed, raised to B-LTA by incremental update"
office_copy = os.path.join(tmp, "office-copy.pdf")
open(office_copy, "wb").write(signed_copy.content)
v = json.loads(pyhanko("validate", office_copy, roots, "lta"))
assert v and all(s["bottom_line"] for s in v), v
# A citizen is not an official.
assert browser.get(apps["office"], allow_redirects=False, timeout=30).status_code in (302, 303)

decide = apps["office"] + "/applications/" + app_id + "/decide?lang=en"
r = office.post(decide, data={"csrf": csrf_of(case), "action": "ask", "reason": "Please confirm the child's school (сургууль)."}, allow_redirects=False, timeout=30)
assert r.status_code == 303, r.status_code
page = browser.get(app_url + "?lang=en", timeout=30).text
assert "More information requested" in page and "сургууль" in page
r = browser.post(app_url + "/reply?lang=en", data={"csrf": csrf_of(page), "reply": "School No. 1, Ulaanbaatar"}, allow_redirects=False, timeout=30)
assert r.status_code == 303
case = office.get(apps["office"] + "/applications/" + app_id + "?lang=en", timeout=30).text
assert "School No. 1" in case
r = office.post(decide, data={"csrf": csrf_of(case), "action": "approve", "reason": "Бүртгэлээс авсан мэдээлэл хангалттай. Evidence from the registers suffices."}, allow_redirects=False, timeout=120)
assert r.status_code == 303, (r.status_code, r.text[-1500:])
facts["decided"] = True

# The decision: in the wallet, sealed B-LTA (pyHanko), PDF/A parts (pikepdf), code and QR.
page = browser.get(app_url + "?lang=en", timeout=30).text
assert "Approved" in page
code = re.search(r"<code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>", page).group(1)
wallet = browser.get(base + "/portal/wallet?lang=en", timeout=30).text
doc_id = re.findall(r'/portal/wallet/([A-Za-z0-9_-]+)/download', wallet[wallet.find("Decision: "):])[0]
decision = browser.get(base + "/portal/wallet/" + doc_id + "/download", timeout=30).content
path = os.path.join(tmp, "decision.pdf")
open(path, "wb").write(decision)
v = json.loads(pyhanko("validate", path, roots, "lta"))
assert len(v) >= 2 and all(s["bottom_line"] for s in v), v
facts["pyhanko"] = [s["field"] for s in v]
with pikepdf.open(path) as pdf:
    assert pdf.open_metadata().pdfa_status == "2B"
    fonts = set()
    for p in pdf.pages:
        for _, f in p.Resources.Font.items():
            d = f.DescendantFonts[0].FontDescriptor
            assert "/FontFile2" in d, "every font embedded"
            fonts.add(str(f.BaseFont))
    assert pdf.trailer.get("/ID") is not None and "/Encrypt" not in pdf.trailer
    text = b"".join(p.Contents.read_bytes() for p in pdf.pages[:1])
    assert b" re\n" in text, "the QR code is drawn"
facts["fonts"] = sorted(fonts)
r = requests.get(base + "/portal/verify/code", params={"code": code.lower().replace("-", " "), "lang": "en"}, timeout=60)
assert r.status_code == 200 and "TOTAL-PASSED" in r.text and "Decision" in r.text, r.text[-1500:]
assert requests.get(base + "/portal/verify/code", params={"code": "0000-0000-0000"}, timeout=30).status_code == 404
# The decision's salted commitment is in the ledger's archive log (once the next checkpoint is
# out); the receipt's entry is SHA-256(salt ‖ SHA-256(decision)).
import time  # noqa: E402
for _ in range(30):
    r = requests.get(base + "/portal/verify/code", params={"code": code, "lang": "en"}, timeout=60)
    if "In the public ledger" in r.text:
        break
    time.sleep(0.5)
assert "In the public ledger" in r.text, r.text[r.text.find("<section"):][-1500:]
receipt_url = re.search(r'href="([^"]+/ledger/archive/receipt\?index=\d+)"', r.text).group(1).replace("&amp;", "&")
receipt = requests.get(receipt_url, timeout=30).json()
assert receipt["format"] == "tamga-ledger-receipt/1" and receipt["proof"] is not None
facts["decision_in_ledger"] = receipt["index"]

# The civil registration's birth certificate, issued to the parent's wallet, checks by its code.
bc = apps["birth_certificate"]["verification_code"]
r = requests.get(base + "/portal/verify/code", params={"code": bc, "lang": "en"}, timeout=60)
assert r.status_code == 200 and "TOTAL-PASSED" in r.text and "Birth certificate" in r.text, r.text[-1200:]

# The bank: a share link, then the public check of the file it got.
page = browser.get(base + "/portal/wallet?lang=en", timeout=30).text
r = browser.post(base + "/portal/wallet/" + doc_id + "/share", data={"recipient": "Төрийн банк / State Bank", "days": "7", "lang": "en", "csrf": csrf_of(page)}, timeout=30)
link = re.findall(r'<code id="share-link">([^<]+)</code>', r.text)[0]
got = requests.get(base + link, timeout=30).content
assert got == decision
r = requests.post(base + "/portal/verify?lang=en", files={"file": ("decision.pdf", got, "application/pdf")}, timeout=60)
assert r.status_code == 200 and "TOTAL-PASSED" in r.text
facts["bank_verified"] = True

# Inbox, and who used my data: the three fetches, by the portal operator.
inbox = browser.get(apps["inbox"] + "?lang=en", timeout=30).text
assert inbox.count('class="tag"') >= 3, inbox[-1500:]
mine = browser.get(base + "/portal/my-data?lang=en", timeout=60)
assert mine.status_code == 200
assert "identify the applicant" in mine.text and "Law on Social Insurance" in mine.text, "the ID card fetch, its purpose and legal basis"

# Another citizen sees none of it.
stranger = sign_in(other)
assert stranger.get(app_url, timeout=30).status_code == 404
assert stranger.get(app_url + "/document", timeout=30).status_code == 404
assert app_id not in stranger.get(apps["applications"], timeout=30).text
print(json.dumps(facts))
