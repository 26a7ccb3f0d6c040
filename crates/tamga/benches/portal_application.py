"""Load generator for once-only applications: N applications, one after the other, each timed
step by step with the human steps left out — consent (three evidence fetches over Khur), the
PDF/A application file, the signature (pyHanko in this process, PAdES B-T with the demo TSA),
and the submission (validation of the signature, delivery over the exchange).

usage: portal_application.py DEMO_DIR N
Prints one JSON object: per-step and end-to-end milliseconds (p50, p95, max), plus a session
cookie and an application URL for the status-page load test.
"""

import io
import json
import os
import re
import statistics
import sys
import time
import warnings

warnings.simplefilter("ignore")
import requests

DEMO, N = sys.argv[1], int(sys.argv[2])
sys.argv = sys.argv[:2]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/peers"))
import oidc_authlib as rp  # noqa: E402

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign import signers, timestamps  # noqa: E402
from pyhanko.sign.fields import SigSeedSubFilter  # noqa: E402

m = rp.manifest
base = m["base_url"]
apps = m["portal"]["applications"]
parent = rp.ident["citizens"][0]
country = m["trust_services"]
p12 = [c for c in country["citizens"] if c["registration_number"] == parent["registration_number"]][0]["files"]["sign"]["pkcs12"]
signer = signers.SimpleSigner.load_pkcs12(os.path.join(DEMO, p12), passphrase=country["demo_pin"].encode())
tsa = timestamps.HTTPTimeStamper(base + "/tsa")

browser = requests.Session()
url, page = rp.follow(browser, base + "/portal/signin?lang=en", base + "/portal/callback")
tx = rp.parse(page.text).values["tx"]
r = browser.post(rp.urljoin(url, "login/password"), data={"tx": tx, "registration_number": parent["registration_number"], "password": parent["password"], "otp": rp.totp(parent["totp_secret_base32"])}, allow_redirects=False, timeout=30)
url, page = rp.follow(browser, rp.urljoin(url, r.headers["location"]), base + "/portal/callback")
if page is not None and "/consent" in url:
    r = browser.post(rp.urljoin(url, "consent"), data={"tx": rp.parse(page.text).values["tx"], "decision": "allow"}, allow_redirects=False, timeout=10)
    url = rp.urljoin(url, r.headers["location"])
assert browser.get(url, allow_redirects=False, timeout=30).status_code == 303
csrf = None
steps = {"fetch": [], "document": [], "sign": [], "submit": [], "total": []}
last = None
# One untimed application first: the first TSA and OCSP connections and pyHanko's lazy
# imports are warm-up, not the steady state.
for i in range(N + 1):
    page = browser.get(apps["apply"] + "?lang=en", timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    r = browser.post(apps["apply"], data={"who": "self", "csrf": csrf}, allow_redirects=False, timeout=30)
    consent = base + r.headers["location"]
    app = consent.rsplit("/", 1)[0]
    t0 = time.perf_counter()
    r = browser.post(consent, data={"csrf": csrf}, allow_redirects=False, timeout=60)
    t1 = time.perf_counter()
    assert r.status_code == 303
    for n, answer in enumerate(["800000", "12"]):  # the human steps: not timed
        assert browser.post(f"{app}/question/{n}", data={"csrf": csrf, "answer": answer}, allow_redirects=False, timeout=30).status_code == 303
    t2 = time.perf_counter()
    doc = browser.get(app + "/document", timeout=30).content
    t3 = time.perf_counter()
    out = io.BytesIO()
    meta = signers.PdfSignatureMetadata(field_name="Applicant", subfilter=SigSeedSubFilter.PADES)
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(doc)), meta, signer=signer, timestamper=tsa, output=out)
    t4 = time.perf_counter()
    r = browser.post(app + "/sign", data={"csrf": csrf}, files={"file": ("a.pdf", out.getvalue(), "application/pdf")}, allow_redirects=False, timeout=60)
    t5 = time.perf_counter()
    assert r.status_code == 303, (r.status_code, r.text[-600:])
    if i == 0:
        continue
    for k, v in (("fetch", t1 - t0), ("document", t3 - t2), ("sign", t4 - t3), ("submit", t5 - t4), ("total", (t1 - t0) + (t5 - t2))):
        steps[k].append(v * 1000)
    last = app


def stats(v):
    v = sorted(v)
    return {"p50": round(statistics.median(v), 1), "p95": round(v[max(0, int(len(v) * 0.95) - 1)], 1), "max": round(v[-1], 1)}


print(json.dumps({
    "applications": N,
    "steps_ms": {k: stats(v) for k, v in steps.items()},
    "cookie": "tamga_portal_session=" + browser.cookies.get("tamga_portal_session", path="/portal"),
    "status_page": last,
}))
