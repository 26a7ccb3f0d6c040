"""Authlib (PyPI) as an OpenID Connect relying party against a running Tamga demo node.

The browser is played by a `requests` session with cookies (no JavaScript is needed by the
provider's pages). Authlib does what a relying party's library does: PKCE, client
authentication (client_secret_basic; private_key_jwt with ES256), the token request, ID token
validation against the JWKS (signature, iss, aud, exp, nonce, at_hash via CodeIDToken),
refresh, revocation. Each check that fails raises; the script prints one JSON line of facts.

usage: oidc_authlib.py DEMO_DIR             the whole journey
       oidc_authlib.py DEMO_DIR refused-card N   citizen N's ID card must be refused
"""

import base64
import warnings
import hashlib
import hmac
import http.server
import json
import os
import re
import struct
import sys
import tempfile
import threading
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

warnings.simplefilter("ignore")
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey
from cryptography.hazmat.primitives.serialization import pkcs12

DEMO = sys.argv[1]
manifest = json.load(open(os.path.join(DEMO, "demo.json")))
ident = manifest["identity"]
meta = requests.get(ident["discovery"], timeout=10).json()
ISSUER = meta["issuer"]
assert ISSUER == ident["issuer"], "discovery issuer"
assert meta["code_challenge_methods_supported"] == ["S256"]
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
facts = {}


def totp(b32):
    key = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    counter = int(time.time()) // 30
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[19] & 15
    return "%06d" % ((struct.unpack(">I", mac[o : o + 4])[0] & 0x7FFFFFFF) % 1000000)


class Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values = {}
        self.links = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and "name" in a:
            self.values[a["name"]] = a.get("value", "")
        if tag == "a" and "href" in a:
            self.links.append(a["href"])


def parse(html):
    p = Inputs()
    p.feed(html)
    return p


def follow(browser, url, until, **kw):
    """Follows redirects by hand until a URL starts with `until`; returns (url, response)."""
    for _ in range(10):
        if url.startswith(until):
            return url, None
        r = browser.get(url, allow_redirects=False, timeout=10, **kw)
        if r.status_code in (301, 302, 303, 307):
            url = urljoin(url, r.headers["location"])
            continue
        return url, r
    raise AssertionError("redirect loop")


def sign_in_password(browser, login_url, citizen, callback):
    url, page = follow(browser, login_url, callback)
    if page is None:
        return url
    assert page.status_code == 200, (page.status_code, page.text[:300])
    tx = parse(page.text).values["tx"]
    r = browser.post(
        urljoin(url, "login/password"),
        data={
            "tx": tx,
            "registration_number": citizen["registration_number"],
            "password": citizen["password"],
            "otp": totp(citizen["totp_secret_base32"]),
        },
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code in (302, 303), (r.status_code, r.text[:300])
    return consent_and_callback(browser, urljoin(url, r.headers["location"]), callback)


def consent_and_callback(browser, url, callback):
    url, page = follow(browser, url, callback)
    if page is None:
        return url
    assert "/consent" in url, (url, page.status_code, page.text[:300])
    tx = parse(page.text).values["tx"]
    r = browser.post(
        urljoin(url, "consent"),
        data={"tx": tx, "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    url, page = follow(browser, urljoin(url, r.headers["location"]), callback)
    assert page is None, "no callback after consent"
    return url


def check_callback(url, state):
    q = parse_qs(urlparse(url).query)
    assert q.get("iss") == [ISSUER], "RFC 9207 iss"
    assert q.get("state") == [state], "state"
    assert "code" in q, q
    return q["code"][0]


def validate_id_token(id_token, client_id, nonce, access_token):
    claims = jwt.decode(
        id_token,
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": ISSUER}},
        claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    claims.validate()
    return claims


def card_files(card):
    """The ID card's certificate chain and key as PEM files (what a browser would present)."""
    p12 = open(os.path.join(DEMO, card["id_card"]["pkcs12"]), "rb").read()
    key, cert, extra = pkcs12.load_key_and_certificates(p12, card["id_card"]["pkcs12_password"].encode())
    tmp = tempfile.mkdtemp()
    cert_file, key_file = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
        for c in extra or []:
            f.write(c.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


def refused_card(index):
    rp = ident["clients"][0]
    callback = rp["redirect_uris"][0]
    verifier = generate_token(64)
    url = meta["authorization_endpoint"] + "?" + urlencode({
        "client_id": rp["client_id"], "response_type": "code", "scope": "openid",
        "redirect_uri": callback, "state": "s", "acr_values": "http://eidas.europa.eu/LoA/high",
        "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256",
    })
    browser = requests.Session()
    url, page = follow(browser, url, callback)
    link = [l for l in parse(page.text).links if l.startswith(ident["certificate_login_url"])][0]
    cert_file, key_file = card_files(ident["citizens"][index])
    r = requests.get(link, cert=(cert_file, key_file), verify=os.path.join(DEMO, ident["tls_roots"]),
                     allow_redirects=False, timeout=30)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    print(json.dumps({"refused": r.status_code, "page": r.text}, ensure_ascii=False))


def main():
    if len(sys.argv) > 3 and sys.argv[2] == "refused-card":
        refused_card(int(sys.argv[3]))
        sys.exit(0)


    # 1. client_secret_basic, PAR, password + TOTP (low), profile + registration number.
    rp = ident["clients"][0]
    callback = rp["redirect_uris"][0]
    citizen = ident["citizens"][0]
    client = OAuth2Session(
        rp["client_id"],
        rp["client_secret"],
        scope="openid profile registration_number offline_access",
        redirect_uri=callback,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(64)
    state, nonce = generate_token(16), generate_token(16)
    par = requests.post(
        meta["pushed_authorization_request_endpoint"],
        auth=(rp["client_id"], rp["client_secret"]),
        data={
            "response_type": "code",
            "client_id": rp["client_id"],
            "redirect_uri": callback,
            "scope": "openid profile registration_number offline_access",
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        },
        timeout=10,
    )
    assert par.status_code == 201, par.text
    request_uri = par.json()["request_uri"]
    unauth = requests.post(
        meta["pushed_authorization_request_endpoint"], data={"client_id": rp["client_id"]}, timeout=10
    )
    assert unauth.status_code == 401, "PAR without client authentication"
    browser = requests.Session()
    login = meta["authorization_endpoint"] + "?" + urlencode({"client_id": rp["client_id"], "request_uri": request_uri})
    cb = sign_in_password(browser, login, citizen, callback)
    check_callback(cb, state)
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=cb, code_verifier=verifier, state=state
    )
    claims = validate_id_token(token["id_token"], rp["client_id"], nonce, token["access_token"])
    assert claims["acr"] == "http://eidas.europa.eu/LoA/low", claims["acr"]
    assert "otp" in claims["amr"] and "pwd" in claims["amr"]
    facts["password_sub"] = claims["sub"]
    # The same code again: refused, and the grant it gave is revoked.
    again = requests.post(
        meta["token_endpoint"],
        auth=(rp["client_id"], rp["client_secret"]),
        data={
            "grant_type": "authorization_code",
            "code": parse_qs(urlparse(cb).query)["code"][0],
            "redirect_uri": callback,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
    # The request_uri is single-use.
    r = requests.get(login, allow_redirects=False, timeout=10)
    assert r.status_code == 400, "request_uri reused"

    # 2. A fresh sign-in in the same browser (session reused, consent remembered), then userinfo,
    #    refresh rotation with reuse detection, revocation and introspection.
    verifier = generate_token(64)
    state, nonce = generate_token(16), generate_token(16)
    url, _ = client.create_authorization_url(
        meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    cb, page = follow(browser, url, callback)
    assert page is None, "the session and the stored consent should lead straight back"
    check_callback(cb, state)
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=cb, code_verifier=verifier, state=state
    )
    validate_id_token(token["id_token"], rp["client_id"], nonce, token["access_token"])
    info = requests.get(
        meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10
    ).json()
    assert info["registration_number"] == citizen["registration_number"], info
    assert info["sub"] == facts["password_sub"], "sub stable across sign-ins"
    facts["userinfo_name"] = info["name"]
    old_refresh = token["refresh_token"]
    new = client.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    assert new["refresh_token"] != old_refresh, "rotated"
    reuse = requests.post(
        meta["token_endpoint"],
        auth=(rp["client_id"], rp["client_secret"]),
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        timeout=10,
    )
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant", reuse.text
    after = requests.post(
        meta["token_endpoint"],
        auth=(rp["client_id"], rp["client_secret"]),
        data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]},
        timeout=10,
    )
    assert after.status_code == 400, "reuse must revoke the whole family"
    introspected = requests.post(
        meta["introspection_endpoint"],
        auth=(rp["client_id"], rp["client_secret"]),
        data={"token": new["access_token"]},
        timeout=10,
    ).json()
    assert introspected == {"active": False}, ("family revoked -> access token inactive", introspected)
    facts["refresh_reuse_detected"] = True

    # max_age=0 asks for a fresh sign-in even though the browser has a session (OIDC Core
    # §3.1.2.1); prompt=none with a usable session and remembered consent goes straight back.
    url, _ = client.create_authorization_url(
        meta["authorization_endpoint"], state="m0", nonce="m0", code_verifier=generate_token(64), max_age="0"
    )
    url, page = follow(browser, url, callback)
    assert page is not None and "/login" in url, "max_age=0 shows the sign-in page"
    url, _ = client.create_authorization_url(
        meta["authorization_endpoint"], state="pn", nonce="pn", code_verifier=generate_token(64), prompt="none"
    )
    url, page = follow(browser, url, callback)
    assert page is None and "code=" in url, "prompt=none with a session: a code"
    # The company's legal representative lets another citizen act for it (the mandates page).
    r = browser.post(ISSUER + "/mandates", data={"company": "9100001", "registration_number": ident["citizens"][2]["registration_number"]}, timeout=10)
    assert r.status_code == 200 and ("Эрх олгогдлоо" in r.text or "granted" in r.text), r.text[:300]
    r = browser.post(ISSUER + "/mandates", data={"company": "9999999", "registration_number": ident["citizens"][2]["registration_number"]}, timeout=10)
    assert r.status_code == 422, "not the legal representative of that company"
    facts["mandate_granted"] = True

    # 2b. Representation: the same citizen acts for a child under 16 (a child of 17 is not
    #     offered); the ID token names the child as sub and the parent in act.
    verifier = generate_token(64)
    state, nonce = generate_token(16), generate_token(16)
    rclient = OAuth2Session(rp["client_id"], rp["client_secret"], scope="openid representation",
                            redirect_uri=callback, code_challenge_method="S256",
                            token_endpoint_auth_method="client_secret_basic")
    url, _ = rclient.create_authorization_url(
        meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    url, page = follow(browser, url, callback)
    assert page is not None and "/represent" in url, (url, page and page.text[:200])
    options = dict(
        (label.strip(), value)
        for value, label in re.findall(
            r'name="choice" value="([^"]+)"><label for="choice-\d+"[^>]*>([^<]+)</label>', page.text
        )
    )
    child = [v for k, v in options.items() if k.startswith("Тэмүүлэн")]
    assert len(child) == 1, options
    assert not any(k.startswith("Номин") for k in options), "a child of 17 is not offered"
    assert any("Example Trade" in k for k in options), "the company is offered"
    tx = parse(page.text).values["tx"]
    r = browser.post(urljoin(url, "represent"), data={"tx": tx, "choice": child[0]}, allow_redirects=False, timeout=10)
    cb = consent_and_callback(browser, urljoin(url, r.headers["location"]), callback)
    assert "code=" in cb, cb
    token = rclient.fetch_token(meta["token_endpoint"], authorization_response=cb, code_verifier=verifier, state=state)
    claims = validate_id_token(token["id_token"], rp["client_id"], nonce, token["access_token"])
    assert claims["act"]["sub"] == facts["password_sub"], "act names the parent"
    assert claims["sub"] != facts["password_sub"], "sub is the child"
    assert claims["represented"]["basis"] == "parent" and claims["represented"]["name"].startswith("Тэмүүлэн")
    info = requests.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10).json()
    assert info["sub"] == claims["sub"] and info["act"]["sub"] == facts["password_sub"], info
    facts["represented"] = claims["represented"]["name"]

    # 3. Logout: back to the registered URI with state; then prompt=none finds no session.
    verifier = generate_token(64)
    state, nonce = generate_token(16), generate_token(16)
    url, _ = client.create_authorization_url(
        meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
    )
    cb, _ = follow(browser, url, callback)
    token = client.fetch_token(
        meta["token_endpoint"], authorization_response=cb, code_verifier=verifier, state=state
    )
    client.revoke_token(meta["revocation_endpoint"], token=token["access_token"])
    info = requests.get(
        meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10
    )
    assert info.status_code == 401, "revoked access token refused"
    # A second client in the same browser session, registered with a back-channel logout URI
    # this script listens on: signing out must reach it with a valid logout token.
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(parse_qs(body.decode())["logout_token"][0])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    admin = open(os.path.join(DEMO, ident["admin_token_file"])).read().strip()
    reg = requests.post(
        ISSUER + "/admin/clients",
        headers={"Authorization": "Bearer " + admin},
        json={
            "client_id": "bcl-rp",
            "client_name_mn": "Гарах туршилт",
            "client_name_en": "Logout test",
            "redirect_uris": [callback],
            "token_endpoint_auth_method": "client_secret_basic",
            "backchannel_logout_uri": "http://127.0.0.1:%d/bcl" % server.server_port,
        },
        timeout=10,
    )
    assert reg.status_code == 201, reg.text
    bcl = OAuth2Session("bcl-rp", reg.json()["client_secret"], scope="openid", redirect_uri=callback,
                        code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
    bv = generate_token(64)
    url, bstate = bcl.create_authorization_url(meta["authorization_endpoint"], state="b1", nonce="bn", code_verifier=bv)
    cb, page = follow(browser, url, callback)
    assert page is None, "signed-in browser: straight back with a code"
    btoken = bcl.fetch_token(meta["token_endpoint"], authorization_response=cb, code_verifier=bv, state="b1")
    bsid = jwt.decode(btoken["id_token"], jwks)["sid"]
    post_logout = [u for u in ["http://127.0.0.1:8400/"]][0]
    r = browser.get(
        meta["end_session_endpoint"],
        params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": post_logout, "state": "bye"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code in (302, 303) and r.headers["location"] == post_logout + "?state=bye", (r.status_code, r.headers)
    for _ in range(50):
        if received:
            break
        time.sleep(0.1)
    assert len(received) == 1, "one back-channel logout for bcl-rp"
    lt = jwt.decode(received[0], jwks)
    lt.validate()
    assert lt["iss"] == ISSUER and lt["aud"] == "bcl-rp" and lt["sid"] == bsid, lt
    assert "http://schemas.openid.net/event/backchannel-logout" in lt["events"] and "nonce" not in lt
    server.shutdown()
    facts["backchannel_logout"] = True
    url, _ = client.create_authorization_url(
        meta["authorization_endpoint"], state="s2", nonce="n2", code_verifier=generate_token(64), prompt="none"
    )
    cb, _ = follow(browser, url, callback)
    assert parse_qs(urlparse(cb).query)["error"] == ["login_required"], cb
    facts["logout"] = True

    # 4. private_key_jwt (ES256) + mandatory PAR, ID card over mutual TLS (high).
    jrp = ident["clients"][1]
    key_pem = open(os.path.join(DEMO, jrp["private_key_pem"])).read()


    def assertion(aud):
        a = private_key_jwt_sign(
            key_pem, jrp["client_id"], aud, alg="ES256", header={"kid": jrp["kid"]},
            claims={"jti": uuid.uuid4().hex},
        )
        return a.decode() if isinstance(a, bytes) else a


    # Without PAR this client is refused.
    r = requests.get(
        meta["authorization_endpoint"],
        params={"client_id": jrp["client_id"], "response_type": "code", "scope": "openid"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 400, "PAR is mandatory for demo-rp-jwt"
    verifier = generate_token(64)
    state, nonce = generate_token(16), generate_token(16)
    par = requests.post(
        meta["pushed_authorization_request_endpoint"],
        data={
            "response_type": "code",
            "client_id": jrp["client_id"],
            "redirect_uri": callback,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "acr_values": "http://eidas.europa.eu/LoA/high",
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion(ISSUER),
        },
        timeout=10,
    )
    assert par.status_code == 201, par.text
    cert_file, key_file = card_files(ident["citizens"][1])
    browser = requests.Session()
    login = meta["authorization_endpoint"] + "?" + urlencode(
        {"client_id": jrp["client_id"], "request_uri": par.json()["request_uri"]}
    )
    url, page = follow(browser, login, callback)
    assert page.status_code == 200 and 'name="password"' not in page.text, "high: no password form"
    cert_link = [l for l in parse(page.text).links if l.startswith(ident["certificate_login_url"])][0]
    roots = os.path.join(DEMO, ident["tls_roots"])
    # Without a certificate: refused with a reason.
    r = requests.get(cert_link.replace("&amp;", "&"), verify=roots, allow_redirects=False, timeout=10)
    assert r.status_code == 403, r.status_code
    r = requests.get(
        cert_link.replace("&amp;", "&"), cert=(cert_file, key_file), verify=roots, allow_redirects=False, timeout=30
    )
    assert r.status_code in (302, 303), (r.status_code, r.text[:500])
    cb = consent_and_callback(browser, r.headers["location"], callback)
    code = check_callback(cb, state)
    jclient = OAuth2Session(
        jrp["client_id"], ECKey.import_key(key_pem), redirect_uri=callback, token_endpoint_auth_method="private_key_jwt"
    )
    jclient.register_client_auth_method(
        PrivateKeyJWT(meta["token_endpoint"], headers={"kid": jrp["kid"]}, alg="ES256")
    )
    token = jclient.fetch_token(
        meta["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=verifier
    )
    claims = validate_id_token(token["id_token"], jrp["client_id"], nonce, token["access_token"])
    assert claims["acr"] == "http://eidas.europa.eu/LoA/high", claims["acr"]
    assert "sc" in claims["amr"], claims["amr"]
    facts["certificate_acr"] = claims["acr"]
    info = requests.get(
        meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10
    ).json()
    facts["certificate_name"] = info.get("name")
    # A replayed client assertion is refused.
    a = assertion(meta["token_endpoint"])
    body = {
        "grant_type": "refresh_token",
        "refresh_token": token["refresh_token"],
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": a,
    }
    first = requests.post(meta["token_endpoint"], data=body, timeout=10)
    assert first.status_code == 200, first.text
    body["refresh_token"] = first.json()["refresh_token"]
    second = requests.post(meta["token_endpoint"], data=body, timeout=10)
    assert second.status_code == 401 and second.json()["error"] == "invalid_client", second.text
    print(json.dumps(facts, ensure_ascii=False))



if __name__ == "__main__":
    main()
