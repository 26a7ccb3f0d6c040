"""pyHanko as Tamga's peer for PAdES: validate a PDF Tamga signed, or sign one for Tamga.

    pyhanko_peer.py validate PDF ROOT_PEM MODE     (MODE: plain | lt | lta)
    pyhanko_peer.py sign IN OUT P12 PASSWORD ROOT_PEM TSA_URL|-

`validate` prints one JSON object per signature; `sign` signs with a PKCS#12 from Tamga's PKI
(PAdES B-B, or B-LTA with OCSP and time-stamps fetched from Tamga over HTTP when a TSA URL is
given).
"""
import json
import sys

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko_certvalidator import ValidationContext


def validate(pdf, root_pem, mode):
    """plain: soft-fail revocation, nothing fetched. lt: revocation required, taken only from
    the document's DSS (hard-fail, nothing fetched). lta: as lt, and every document time-stamp
    validated too."""
    roots = list(load_certs_from_pemder([root_pem]))
    out = []
    with open(pdf, "rb") as f:
        r = PdfFileReader(f)
        if mode == "plain":
            vc = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
        else:
            dss = DocumentSecurityStore.read_dss(handler=r)
            vc = dss.as_validation_context(
                {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"}
            )
        for sig in r.embedded_regular_signatures:
            st = validate_pdf_signature(sig, vc)
            out.append({
                "field": sig.field_name,
                "intact": st.intact,
                "valid": st.valid,
                "trusted": st.trusted,
                "coverage": st.coverage.name if st.coverage else None,
                "modification_level": st.modification_level.name if st.modification_level else None,
                "docmdp_ok": st.docmdp_ok,
                "bottom_line": st.bottom_line,
                "timestamp": None if st.timestamp_validity is None else {
                    "intact": st.timestamp_validity.intact,
                    "valid": st.timestamp_validity.valid,
                    "trusted": st.timestamp_validity.trusted,
                },
                "summary": st.summary(),
            })
        if mode == "lta":
            for ts in r.embedded_timestamp_signatures:
                st = validate_pdf_timestamp(ts, vc)
                out.append({
                    "field": ts.field_name,
                    "intact": st.intact,
                    "valid": st.valid,
                    "trusted": st.trusted,
                    "coverage": st.coverage.name if st.coverage else None,
                    "modification_level": st.modification_level.name if st.modification_level else None,
                    "docmdp_ok": None,
                    # A time-stamp's verdict: intact, valid and trusted.
                    "bottom_line": st.intact and st.valid and st.trusted,
                })
    print(json.dumps(out))


def sign(inp, outp, p12, password, root_pem, tsa_url):
    signer = signers.SimpleSigner.load_pkcs12(p12, passphrase=password.encode())
    if signer is None:
        sys.exit("pyHanko could not open the PKCS#12 file")
    roots = list(load_certs_from_pemder([root_pem]))
    kwargs = {}
    if tsa_url != "-":
        vc = ValidationContext(trust_roots=roots, allow_fetching=True)
        meta = signers.PdfSignatureMetadata(
            field_name="PyHankoSignature",
            subfilter=SigSeedSubFilter.PADES,
            embed_validation_info=True,
            use_pades_lta=True,
            validation_context=vc,
        )
        kwargs["timestamper"] = timestamps.HTTPTimeStamper(tsa_url)
    else:
        meta = signers.PdfSignatureMetadata(field_name="PyHankoSignature", subfilter=SigSeedSubFilter.PADES)
    with open(inp, "rb") as inf:
        w = IncrementalPdfFileWriter(inf)
        with open(outp, "wb") as outf:
            signers.sign_pdf(w, meta, signer=signer, output=outf, **kwargs)


if __name__ == "__main__":
    if sys.argv[1] == "validate":
        validate(*sys.argv[2:5])
    else:
        sign(*sys.argv[2:8])
