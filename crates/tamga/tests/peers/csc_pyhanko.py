"""pyHanko signs a PDF through Tamga's Cloud Signature Consortium API.

The citizen signs in with the ID card (level high, mutual TLS); the relying party gets a
service token (scope `service`), lists the citizen's credentials, and pyHanko's CSCSigner
fetches the certificates and asks for each batch's SAD through an authorization manager that
runs the OAuth credential authorization (scope `credential`, the exact hashes, SCAL 2) with the
citizen confirming on the page that shows what is signed. Then the refusals: a hash that was
not authorized, a SAD used twice.

usage: csc_pyhanko.py DEMO_DIR IN.pdf OUT.pdf
"""

import asyncio
import base64
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")

import aiohttp
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)

sys.argv, (DEMO, PDF_IN, PDF_OUT) = sys.argv[:2], sys.argv[1:4]

import oidc_authlib as rp  # noqa: E402  (the shared browser and flow helpers)

ident = rp.ident
meta = rp.meta
client = ident["clients"][0]
callback = client["redirect_uris"][0]
card = ident["citizens"][1]
cert_file, key_file = rp.card_files(card)
roots = os.path.join(DEMO, ident["tls_roots"])
browser = requests.Session()
facts = {}


def code_flow(extra, scope):
    """Authorization with the ID card; returns the token response."""
    verifier = generate_token(64)
    state = generate_token(12)
    params = {
        "client_id": client["client_id"],
        "response_type": "code",
        "scope": scope,
        "redirect_uri": callback,
        "state": state,
        "nonce": generate_token(12),
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    params.update(extra)
    r = requests.post(
        meta["pushed_authorization_request_endpoint"],
        auth=(client["client_id"], client["client_secret"]),
        data=params,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    url = meta["authorization_endpoint"] + "?" + rp.urlencode(
        {"client_id": client["client_id"], "request_uri": r.json()["request_uri"]}
    )
    url, page = rp.follow(browser, url, callback)
    if page is not None and "/login" in url:
        link = [l for l in rp.parse(page.text).links if l.startswith(ident["certificate_login_url"])][0]
        r = requests.get(link, cert=(cert_file, key_file), verify=roots, allow_redirects=False, timeout=30)
        assert r.status_code in (302, 303), (r.status_code, r.text[:300])
        url, page = rp.follow(browser, r.headers["location"], callback)
    if page is not None:
        assert "/consent" in url, (url, page.text[:300])
        facts.setdefault("consent_pages", []).append(page.text)
        tx = rp.parse(page.text).values["tx"]
        r = browser.post(rp.urljoin(url, "consent"), data={"tx": tx, "decision": "allow"}, allow_redirects=False, timeout=10)
        url, page = rp.follow(browser, rp.urljoin(url, r.headers["location"]), callback)
    code = rp.check_callback(url, state)
    t = requests.post(
        meta["token_endpoint"],
        auth=(client["client_id"], client["client_secret"]),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": callback, "code_verifier": verifier},
        timeout=10,
    )
    assert t.status_code == 200, t.text
    return t.json()


service = code_flow({"acr_values": "http://eidas.europa.eu/LoA/high"}, "openid service")["access_token"]
base = ident["remote_signing"]["csc_api"].rsplit("/csc/", 1)[0]
listed = requests.post(base + "/csc/v2/credentials/list", headers={"Authorization": "Bearer " + service}, json={}, timeout=10)
assert listed.status_code == 200, listed.text
credential_id = listed.json()["credentialIDs"][0]
assert credential_id == card["remote_signing_credential"], listed.json()
sads = []


class ConfirmingAuthManager(CSCAuthorizationManager):
    """Gets a SAD for exactly these hashes: the citizen confirms them in the browser."""

    async def authorize_signature(self, hash_b64s):
        hashes = ",".join(base64.urlsafe_b64encode(base64.b64decode(h)).decode().rstrip("=") for h in hash_b64s)
        token = code_flow(
            {
                "credentialID": credential_id,
                "numSignatures": str(len(hash_b64s)),
                "hashes": hashes,
                "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1",
                "description": "Гэрээ / contract.pdf",
            },
            "openid credential",
        )
        sads.append((token["access_token"], hash_b64s))
        return CSCAuthorizationInfo(sad=token["access_token"])


async def sign():
    info = CSCServiceSessionInfo(base, credential_id, oauth_token=service, api_ver="v2")
    async with aiohttp.ClientSession() as session:
        cred = await fetch_certs_in_csc_credential(session, info)
        manager = ConfirmingAuthManager(info, cred)
        signer = CSCSigner(session, manager)
        with open(PDF_IN, "rb") as f:
            w = IncrementalPdfFileWriter(f)
            meta_ = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES)
            with open(PDF_OUT, "wb") as out:
                await signers.async_sign_pdf(w, meta_, signer=signer, output=out)
        return cred


cred = asyncio.run(sign())
facts["signer"] = cred.signing_cert.subject.human_friendly
assert any("гарын үсэг зурах" in p.lower() or "Гарын үсэг зурах" in p for p in facts["consent_pages"]), "confirmation page"
assert any("contract.pdf" in p for p in facts.pop("consent_pages")), "the page shows what is signed"

# A used SAD is refused, and so is a hash the citizen did not confirm.
sad, hashes = sads[-1]
again = requests.post(
    base + "/csc/v2/signatures/signHash",
    headers={"Authorization": "Bearer " + service},
    json={"credentialID": credential_id, "SAD": sad, "hashes": hashes, "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1", "signAlgo": "1.2.840.10045.4.3.2"},
    timeout=10,
)
# The SAD is spent: refused as revoked (401) — it cannot sign again.
assert again.status_code == 401 and again.json()["error"] == "invalid_token", again.text
good = base64.b64encode(b"\x01" * 32).decode()
token = code_flow(
    {"credentialID": credential_id, "numSignatures": "1", "hashes": base64.urlsafe_b64encode(b"\x01" * 32).decode().rstrip("="), "hashAlgorithmOID": "2.16.840.1.101.3.4.2.1"},
    "openid credential",
)
other = base64.b64encode(b"\x02" * 32).decode()
r = requests.post(
    base + "/csc/v2/signatures/signHash",
    json={"credentialID": credential_id, "SAD": token["access_token"], "hashes": [other], "signAlgo": "1.2.840.10045.4.3.2"},
    timeout=10,
)
assert r.status_code == 400 and "not authorized" in r.json()["error_description"], r.text
r = requests.post(
    base + "/csc/v2/signatures/signHash",
    json={"credentialID": credential_id, "SAD": token["access_token"], "hashes": [good], "signAlgo": "1.2.840.10045.4.3.2"},
    timeout=10,
)
assert r.status_code == 200 and len(r.json()["signatures"]) == 1, r.text
# A credential authorization cannot be refreshed into more signatures.
r = requests.post(
    meta["token_endpoint"],
    auth=(client["client_id"], client["client_secret"]),
    data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    timeout=10,
)
assert r.status_code == 400, r.text
facts["refusals"] = True
facts.pop("consent_pages", None)
print(json.dumps(facts, ensure_ascii=False))
