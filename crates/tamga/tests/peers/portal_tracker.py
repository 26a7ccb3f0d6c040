"""The portal's "who used my data", end to end: the citizen signs in to the portal through the
identity provider (the portal is an OIDC client like any agency system), and the portal fetches
the data trackers' entries over the exchange (findUsage at each organisation holding personal
data). Another citizen never sees the first one's entries; the portal refuses a forged state.

usage: portal_tracker.py DEMO_DIR
"""

import json
import re
import sys
import warnings

warnings.simplefilter("ignore")
import requests

import oidc_authlib as rp  # noqa: E402  (shared browser helpers; reads DEMO_DIR from argv)

manifest = rp.manifest
base = manifest["base_url"]
portal = manifest["portal"]
facts = {}

# Not signed in: sent to sign in.
r = requests.get(portal["my_data"], allow_redirects=False, timeout=10)
assert r.status_code in (302, 303) and "/portal/signin" in r.headers["location"], r.status_code


def sign_in(citizen):
    browser = requests.Session()
    url, page = rp.follow(browser, base + "/portal/signin?lang=en", portal["my_data"])
    assert page is not None and "/id/login" in url, url
    tx = rp.parse(page.text).values["tx"]
    r = browser.post(
        rp.urljoin(url, "login/password"),
        data={"tx": tx, "registration_number": citizen["registration_number"], "password": citizen["password"], "otp": rp.totp(citizen["totp_secret_base32"])},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303, r.status_code
    url, page = rp.follow(browser, rp.urljoin(url, r.headers["location"]), base + "/portal/callback")
    if page is not None and "/consent" in url:
        assert "Регистрийн дугаар" in page.text or "registration number" in page.text.lower(), "consent names the registration number"
        r = browser.post(rp.urljoin(url, "consent"), data={"tx": rp.parse(page.text).values["tx"], "decision": "allow"}, allow_redirects=False, timeout=10)
        url = rp.urljoin(url, r.headers["location"])
    r = browser.get(url, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["location"] == "/portal/my-data", (r.status_code, r.text[:300])
    page = browser.get(portal["my_data"] + "?lang=en", timeout=30)
    assert page.status_code == 200, page.status_code
    return browser, page.text


owner = rp.ident["citizens"][0]
browser, page = sign_in(owner)
assert owner["registration_number"] in page, "signed in as the data subject"
assert "Mongolian Tax Administration" in page, "the tax administration's read is listed"
assert "tax return check" in page, "with its purpose"
assert "General Tax Law" in page, "and its legal basis"
assert "identify a party" not in page, "the court's entry stays hidden until its disclosure date"
assert "did not answer" not in page, page[page.find("error-summary"):][:400]
facts["owner_sees"] = page.count("<tr>") - 1
# Each entry's ledger receipt: the access log's entry is the commitment the page shows. Batches
# are committed within a second or two of the exchange; wait for one.
import base64, re, time  # noqa: E401
for _ in range(20):
    links = re.findall(r'href="([^"]+/ledger/access/receipt\?index=\d+)" download="[^"]+" data-commitment="([0-9a-f]+)"', page)
    if links:
        break
    time.sleep(0.5)
    page = browser.get(portal["my_data"] + "?lang=en", timeout=30).text
assert links, "a receipt link once the entry is in the ledger"
url, commitment = links[0]
receipt = requests.get(url.replace("&amp;", "&"), timeout=10).json()
assert receipt["format"] == "tamga-ledger-receipt/1" and receipt["proof"] is not None
assert base64.b64decode(receipt["entry"]).decode() == "tamga-access/1 " + commitment, "the receipt is for that entry"
facts["receipt_index"] = receipt["index"]
# Filter by organisation.
filtered = browser.get(portal["my_data"], params={"org": "MN/GOV/9000002", "lang": "en"}, timeout=30).text
assert "Mongolian Tax Administration" in filtered and filtered.count("<tr>") <= page.count("<tr>")

# The document wallet: the notarised contract is there; download it, share it with the bank
# for a week, the bank opens it (recorded), then the owner revokes the link.
import os  # noqa: E402
contract = open(os.path.join(sys.argv[1], "documents/sale-contract.signed.pdf"), "rb").read()
wallet = browser.get(base + "/portal/wallet?lang=en", timeout=30).text
assert "Apartment sale contract" in wallet, wallet[:500]
# The contract's own section (the wallet also holds the child's birth certificate).
section = wallet[wallet.find("Apartment sale contract"):]
doc_id = re.findall(r'/portal/wallet/([A-Za-z0-9_-]+)/download', section)[0]
assert "Birth certificate" in wallet, "the civil registration's birth certificate is in the parent's wallet"
r = browser.get(base + "/portal/wallet/" + doc_id + "/download", timeout=30)
assert r.status_code == 200 and r.content == contract, "the wallet returns the signed PDF as issued"
csrf = re.search(r'name="csrf" value="([^"]+)"', wallet).group(1)
r = browser.post(base + "/portal/wallet/" + doc_id + "/share", data={"recipient": "Төрийн банк / State Bank", "days": "7", "lang": "en"}, timeout=30)
assert r.status_code == 403, "no anti-forgery token, no share link"
r = browser.post(base + "/portal/wallet/" + doc_id + "/share", data={"recipient": "Төрийн банк / State Bank", "days": "99", "lang": "en", "csrf": csrf}, timeout=30)
assert r.status_code == 422 and "1 to 30" in r.text, "days are bounded"
r = browser.post(base + "/portal/wallet/" + doc_id + "/share", data={"recipient": "Төрийн банк / State Bank", "days": "7", "lang": "en", "csrf": csrf}, timeout=30)
assert r.status_code == 200, r.status_code
link = re.findall(r'<code id="share-link">([^<]+)</code>', r.text)[0]
opened = requests.get(base + link, timeout=30)
assert opened.status_code == 200 and opened.content == contract, "the bank gets the same PDF"
wallet = browser.get(base + "/portal/wallet?lang=en", timeout=30).text
assert re.search(r"<td>Төрийн банк / State Bank</td><td>1</td>", wallet), "the opening is recorded"
share_id = re.findall(r'/portal/shares/([A-Za-z0-9_-]+)/revoke', wallet)[0]
facts["wallet_shared_and_opened"] = True

# Another citizen sees only their own (none of the first one's).
other = rp.ident["citizens"][1]
other_browser, page2 = sign_in(other)
assert other_browser.get(base + "/portal/wallet/" + doc_id + "/download", timeout=30).status_code == 404, "never another's document"
other_csrf = re.search(r'name="csrf" value="([^"]+)"', other_browser.get(base + "/portal/wallet", timeout=30).text).group(1)
assert other_browser.post(base + "/portal/shares/" + share_id + "/revoke", data={"csrf": other_csrf}, allow_redirects=False, timeout=30).status_code == 404, "never another's share"
assert requests.get(base + link, timeout=30).status_code == 200, "the link still works"
r = browser.post(base + "/portal/shares/" + share_id + "/revoke", data={"lang": "en"}, allow_redirects=False, timeout=30)
assert r.status_code == 403, "no anti-forgery token, no revocation"
r = browser.post(base + "/portal/shares/" + share_id + "/revoke", data={"csrf": csrf}, allow_redirects=False, timeout=30)
assert r.status_code == 303, r.status_code
assert requests.get(base + link, timeout=30).status_code == 410, "a revoked link is gone"
facts["share_revoked"] = True
assert other["registration_number"] in page2 and owner["registration_number"] not in page2
assert "tax return check" not in page2, "another citizen's entries are never shown"
facts["other_sees"] = page2.count("<tr>") - 1 if "<tr>" in page2 else 0

# The public verification page: the contract is valid; one changed byte makes it not valid.
r = requests.post(base + "/portal/verify?lang=en", files={"file": ("contract.pdf", contract, "application/pdf")}, timeout=60)
assert r.status_code == 200 and "TOTAL-PASSED" in r.text and "Valid" in r.text, r.text[-800:]
tampered = bytearray(contract)
at = tampered.find(b"180,000")
tampered[at] = ord("9")
r = requests.post(base + "/portal/verify?lang=en", files={"file": ("contract.pdf", bytes(tampered), "application/pdf")}, timeout=60)
assert r.status_code == 200 and "TOTAL-FAILED" in r.text, r.text[-800:]
r = requests.post(base + "/portal/verify?lang=en", files={"file": ("empty.pdf", b"", "application/pdf")}, timeout=60)
assert r.status_code == 422, r.status_code
facts["verify_page"] = True

# A callback with a forged state is refused.
r = browser.get(base + "/portal/callback", params={"code": "x", "state": "forged", "iss": rp.ISSUER}, timeout=10)
assert r.status_code == 400, r.status_code
print(json.dumps(facts))
