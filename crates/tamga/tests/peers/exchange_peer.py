#!/usr/bin/env python3
"""An independent peer for Tamga's exchange, written from RFC 9421 / RFC 9530 and sharing no
code with it (Python standard library + pyca/cryptography).

  relay   terminate TLS with a gateway's server certificate, record every request, forward it
          to the real provider gateway (presenting a consumer's client certificate) and relay the
          answer back: a man in the middle who holds TLS keys but not signing keys.
  verify  rebuild the RFC 9421 signature base of a recorded request from its raw fields,
          check Content-Digest, and verify the signature with the signer's certificate.
  send    send a recorded request again to the provider, unchanged (replay) or tampered.
  hello   connect with some client certificate and report whether the TLS handshake succeeds.

Results are printed as one JSON object.
"""

import argparse
import base64
import hashlib
import json
import re
import socket
import ssl
import sys
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def read_message(f):
    start = f.readline()
    if not start:
        return None
    headers = []
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, value = line.decode("latin-1").split(":", 1)
        headers.append((name.strip().lower(), value.strip()))
    n = int(next((v for k, v in headers if k == "content-length"), "0"))
    body = f.read(n) if n else b""
    return start.decode("latin-1").rstrip("\r\n"), headers, body


def write_message(sock, start, headers, body):
    out = [start]
    for k, v in headers:
        if k in ("content-length", "transfer-encoding", "connection"):
            continue
        out.append(f"{k}: {v}")
    out.append(f"content-length: {len(body)}")
    sock.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)


def client_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    # The peer's certificate is pinned by Tamga's registry, not chained to a CA we know here.
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    return ctx


def forward(upstream, ctx, start, headers, body):
    host, port = upstream.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:
            write_message(s, start, headers, body)
            return read_message(s.makefile("rb"))


def relay(a):
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.minimum_version = ssl.TLSVersion.TLSv1_3
    server.load_cert_chain(a.cert, a.key)
    server.verify_mode = ssl.CERT_NONE
    upstream_ctx = client_context(a.client_cert, a.client_key)
    lock = threading.Lock()
    listener = socket.create_server(("127.0.0.1", a.port))

    def handle(conn):
        try:
            with server.wrap_socket(conn, server_side=True) as s:
                f = s.makefile("rb")
                while True:
                    m = read_message(f)
                    if m is None:
                        return
                    start, headers, body = m
                    with lock, open(a.capture, "a") as out:
                        out.write(json.dumps({"start": start, "headers": headers,
                                              "body": base64.b64encode(body).decode()}) + "\n")
                    r = forward(a.upstream, upstream_ctx, start, headers, body)
                    if r is None:
                        return
                    write_message(s, *r)
        except (OSError, ssl.SSLError):
            return

    print(json.dumps({"listening": a.port}), flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


# RFC 8941 just enough for Signature-Input / Signature.
def parse_inner_list(text):
    m = re.match(r'\((.*?)\)(.*)$', text)
    items = re.findall(r'"([^"]*)"((?:;[a-z*][a-z0-9_.*-]*(?:="[^"]*"|=[^;" ]+)?)*)', m.group(1))
    params = dict(re.findall(r';([a-z*][a-z0-9_.*-]*)=("[^"]*"|[^;]+)', m.group(2)))
    return items, {k: v.strip('"') for k, v in params.items()}, text


def dictionary(value):
    out = {}
    for part in re.split(r',\s*(?=[a-z*][a-z0-9_.*-]*=)', value):
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def field(headers, name):
    vals = [v for k, v in headers if k == name]
    return ", ".join(vals) if vals else None


def verify(a):
    rec = [json.loads(l) for l in open(a.capture)][a.index]
    start, headers, body = rec["start"], [tuple(h) for h in rec["headers"]], base64.b64decode(rec["body"])
    method, target, _ = start.split(" ", 2)
    inputs = dictionary(field(headers, "signature-input"))
    sigs = dictionary(field(headers, "signature"))
    items, params, serialized = parse_inner_list(inputs[a.label])
    lines = []
    for name, p in items:
        if p:
            raise SystemExit(json.dumps({"valid": False, "error": f"parameter {p} on {name}"}))
        if name == "@method":
            value = method
        elif name == "@target-uri":
            value = "https://" + field(headers, "host") + target
        elif name.startswith("@"):
            raise SystemExit(json.dumps({"valid": False, "error": f"unexpected {name}"}))
        else:
            value = field(headers, name)
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {serialized}')
    base = "\n".join(lines).encode()
    # RFC 9530: the content digest the signature covers must be the body's.
    cd = dictionary(field(headers, "content-digest"))
    digest_ok = base64.b64decode(cd["sha-256"].strip(":")) == hashlib.sha256(body).digest()
    cert = x509.load_pem_x509_certificate(open(a.cert, "rb").read())
    keyid_ok = params.get("keyid") == hashlib.sha256(
        cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    raw = base64.b64decode(sigs[a.label].strip(":"))
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            n = len(raw) // 2
            der = encode_dss_signature(int.from_bytes(raw[:n], "big"), int.from_bytes(raw[n:], "big"))
            key.verify(der, base, ec.ECDSA(hashes.SHA256() if n == 32 else hashes.SHA384()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(raw, base)
        else:
            raise SystemExit(json.dumps({"valid": False, "error": "unsupported key"}))
        sig_ok = True
    except Exception:  # InvalidSignature
        sig_ok = False
    covered = [n for n, _ in items]
    print(json.dumps({"valid": sig_ok and digest_ok and keyid_ok, "signature": sig_ok,
                      "content_digest": digest_ok, "keyid": keyid_ok, "covered": covered,
                      "created": params.get("created"), "expires": params.get("expires"),
                      "nonce": params.get("nonce"), "tag": params.get("tag"),
                      "base": base.decode()}))


def send(a):
    rec = [json.loads(l) for l in open(a.capture)][a.index]
    start, headers, body = rec["start"], [list(h) for h in rec["headers"]], base64.b64decode(rec["body"])
    if a.tamper == "body":
        body = body + b" "
    elif a.tamper == "header":
        headers = [[k, (v + "x") if k == "x-road-id" else v] for k, v in headers]
    r = forward(a.upstream, client_context(a.client_cert, a.client_key), start,
                [tuple(h) for h in headers], body)
    status = int(r[0].split(" ")[1])
    print(json.dumps({"status": status, "x_road_error": field(r[1], "x-road-error")}))


def hello(a):
    try:
        host, port = a.upstream.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with client_context(a.client_cert, a.client_key).wrap_socket(raw) as s:
                # TLS 1.3 reports a refused client certificate on the first read.
                s.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
                data = s.recv(100)
                print(json.dumps({"handshake": bool(data)}))
    except (OSError, ssl.SSLError) as e:
        print(json.dumps({"handshake": False, "error": str(e)}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("relay")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--cert", required=True)
    r.add_argument("--key", required=True)
    r.add_argument("--upstream", required=True)
    r.add_argument("--client-cert", required=True)
    r.add_argument("--client-key", required=True)
    r.add_argument("--capture", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--capture", required=True)
    v.add_argument("--index", type=int, default=0)
    v.add_argument("--label", default="tamga")
    v.add_argument("--cert", required=True)
    s = sub.add_parser("send")
    s.add_argument("--capture", required=True)
    s.add_argument("--index", type=int, default=0)
    s.add_argument("--upstream", required=True)
    s.add_argument("--client-cert", required=True)
    s.add_argument("--client-key", required=True)
    s.add_argument("--tamper", choices=["none", "body", "header"], default="none")
    h = sub.add_parser("hello")
    h.add_argument("--upstream", required=True)
    h.add_argument("--client-cert", required=True)
    h.add_argument("--client-key", required=True)
    a = p.parse_args()
    {"relay": relay, "verify": verify, "send": send, "hello": hello}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
