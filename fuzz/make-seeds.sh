#!/usr/bin/env bash
# Builds small seed inputs for the fuzz targets with openssl (run from fuzz/).
set -euo pipefail
out=seeds
rm -rf "$out"; mkdir -p "$out"/{encrypted_pkcs8,private_key_info,key_file,verify_spki,certificate,ocsp_request,ocsp_response,crl,csr,cms_signature,pdf_signature,asic_container,ledger_note}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
i=0
for spec in "EC -pkeyopt ec_paramgen_curve:P-256" "EC -pkeyopt ec_paramgen_curve:P-384" "ED25519" "RSA -pkeyopt rsa_keygen_bits:2048"; do
  i=$((i+1))
  # shellcheck disable=SC2086
  openssl genpkey -algorithm $spec -out "$tmp/k$i.pem" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$tmp/k$i.pem" -outform DER -out "$out/private_key_info/k$i.der"
  openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -iter 1000 -in "$tmp/k$i.pem" \
    -passout "pass:fuzz passphrase" -outform DER -out "$out/encrypted_pkcs8/k$i.der"
  openssl pkcs8 -topk8 -v2 aes-128-cbc -iter 1000 -in "$tmp/k$i.pem" \
    -passout "pass:fuzz passphrase" -out "$tmp/enc$i.pem"
  openssl pkey -in "$tmp/k$i.pem" -pubout -out "$tmp/pub$i.pem"
  cat "$tmp/pub$i.pem" "$tmp/enc$i.pem" > "$out/key_file/k$i.pem"
  openssl pkey -in "$tmp/k$i.pem" -pubout -outform DER -out "$tmp/pub$i.der"
  printf 'message' > "$tmp/msg"
  if [ "$spec" = ED25519 ]; then
    openssl pkeyutl -sign -inkey "$tmp/k$i.pem" -rawin -in "$tmp/msg" -out "$tmp/sig$i"
  else
    openssl dgst -sha256 -sign "$tmp/k$i.pem" -out "$tmp/sig$i" "$tmp/msg"
  fi
  len=$(stat -c %s "$tmp/pub$i.der")
  idx=$(( (i == 1) ? 0 : (i == 2) ? 1 : (i == 3) ? 2 : 3 ))
  { printf "\\x$(printf %02x $idx)\\x$(printf %02x $((len >> 8)))\\x$(printf %02x $((len & 255)))"; cat "$tmp/pub$i.der" "$tmp/sig$i"; } > "$out/verify_spki/k$i.bin"
done
# PKI seeds: NIST PKITS certificates and CRLs when shared/testdata is beside the checkout.
pkits=../../shared/testdata/pkits
if [ -d "$pkits" ]; then
  cp "$pkits"/certs/*.crt "$out/certificate/" 2>/dev/null || true
  cp "$pkits"/crls/*.crl "$out/crl/" 2>/dev/null || true
fi
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/r.pem" -subj /CN=seed -outform DER -out "$out/csr/req.der" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" -subj /CN=seed-ca -out "$tmp/ca.pem" 2>/dev/null
openssl ocsp -issuer "$tmp/ca.pem" -cert "$tmp/ca.pem" -reqout "$out/ocsp_request/req.der" >/dev/null 2>&1
printf '\x30\x03\x0a\x01\x06' > "$out/ocsp_response/unauthorized.der"
# Signature seeds: the peer-produced PDFs and CMS files (Adobe, pyHanko, SiVa), their CMS, and
# an ASiC-E container made by openssl's zip-free route (a stored zip built by python).
samples=../../shared/testdata/signed-samples
if [ -d "$samples" ]; then
  find "$samples" -name '*.pdf' -size -200k -exec cp {} "$out/pdf_signature/" \;
  cp "$samples"/siva/*.p7m "$out/cms_signature/" 2>/dev/null || true
fi
openssl cms -sign -binary -in "$tmp/msg" -signer "$tmp/ca.pem" -inkey "$tmp/ca.key" -outform DER -out "$out/cms_signature/detached.p7s" 2>/dev/null || true
python3 - "$out/asic_container/seed.asice" "$out/cms_signature/detached.p7s" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED) as z:
    z.writestr("mimetype", "application/vnd.etsi.asic-e+zip")
    z.writestr("a.txt", "message")
    z.writestr("META-INF/ASiCManifest001.xml", '<asic:ASiCManifest xmlns:asic="http://uri.etsi.org/02918/v1.2.1#"><asic:SigReference URI="META-INF/signature001.p7s"/><asic:DataObjectReference URI="a.txt"><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue>AAAA</DigestValue></asic:DataObjectReference></asic:ASiCManifest>')
    z.writestr("META-INF/signature001.p7s", open(sys.argv[2], "rb").read())
PY
if [ -d ../../shared/testdata/tessera-log ]; then
  cp ../../shared/testdata/tessera-log/checkpoint* "$out/ledger_note/" 2>/dev/null || true
fi
printf 'example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx' > "$out/ledger_note/vkey"
printf 'x001/x234/067.p/15' > "$out/ledger_note/tile"
mkdir -p "$out/exchange_message"
if [ -d ../../shared/testdata/rfc9421/appendix-b ]; then
  cp ../../shared/testdata/rfc9421/appendix-b/*_signed.txt "$out/exchange_message/"
fi
printf 'signature-input: tamga=("@method" "signature";req;key="tamga");created=1;expires=2;nonce="aaaaaaaaaaaaaaaa"\nsignature: tamga=:AAAA:\ncontent-digest: sha-256=:AAAA:\n' > "$out/exchange_message/gateway"
mkdir -p "$out/identity_input"
printf 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.AAAA' > "$out/identity_input/jws"
printf '\xa3\x63fmt\x64none\x67attStmt\xa0\x68authData\x40' > "$out/identity_input/cbor"
printf '{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}' > "$out/identity_input/jwks"
echo "seeds written to $out/"
