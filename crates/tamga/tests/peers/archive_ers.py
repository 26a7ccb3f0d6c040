"""An independent RFC 4998 verifier for Tamga's archive packages.

The ASN.1 is declared here from RFC 4998 §3 and §4.1 with asn1crypto (not with Tamga's code),
the hash-tree walk (§4.3) and the chain links (§5.3: time-stamp renewal over the previous
timeStamp, hash-tree renewal over H(data) || H(earlier ArchiveTimeStampSequence)) are computed
here, and every token is verified by `openssl ts -verify` against the given root at its own
genTime, over the digest this script computed.

usage: archive_ers.py PACKAGE ROOT_PEM  -> prints JSON; exit 0 verified, 1 not.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

from asn1crypto import algos, cms, core, tsp


class PartialHashtree(core.SequenceOf):
    _child_spec = core.OctetString


class ReducedHashtree(core.SequenceOf):
    _child_spec = PartialHashtree


class ArchiveTimeStamp(core.Sequence):
    _fields = [
        ("digest_algorithm", algos.DigestAlgorithm, {"implicit": 0, "optional": True}),
        ("attributes", cms.CMSAttributes, {"implicit": 1, "optional": True}),
        ("reduced_hashtree", ReducedHashtree, {"implicit": 2, "optional": True}),
        ("time_stamp", cms.ContentInfo),
    ]


class ArchiveTimeStampChain(core.SequenceOf):
    _child_spec = ArchiveTimeStamp


class ArchiveTimeStampSequence(core.SequenceOf):
    _child_spec = ArchiveTimeStampChain


class DigestAlgorithms(core.SequenceOf):
    _child_spec = algos.DigestAlgorithm


class CryptoInfos(core.SequenceOf):
    _child_spec = core.Any


class EncryptionInfo(core.Sequence):
    _fields = [("encryption_info_type", core.ObjectIdentifier), ("encryption_info_value", core.Any)]


class EvidenceRecord(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("digest_algorithms", DigestAlgorithms),
        ("crypto_infos", CryptoInfos, {"implicit": 0, "optional": True}),
        ("encryption_info", EncryptionInfo, {"implicit": 1, "optional": True}),
        ("archive_time_stamp_sequence", ArchiveTimeStampSequence),
    ]


HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def digest(alg, *parts):
    h = HASHES[alg]()
    for p in parts:
        h.update(p)
    return h.digest()


def walk(alg, leaf, tree):
    """RFC 4998 §4.3: leaf in the first list, each list hashed sorted, the result joining the
    next list. None when the leaf is not in the first list."""
    if tree is None:
        return leaf
    lists = [[bytes(h.native) for h in l] for l in tree]
    if leaf not in lists[0]:
        return None
    h = digest(alg, *sorted(lists[0]))
    for l in lists[1:]:
        members = l if h in l else l + [h]
        h = digest(alg, *sorted(members))
    return h


def der_sequence(content):
    """A DER SEQUENCE around already-encoded elements (their bytes as they were read)."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(b)]) + b
    return b"\x30" + length + content


def token_info(ts):
    signed = ts["content"]
    tst = signed["encap_content_info"]["content"].parsed
    imprint = tst["message_imprint"]
    return (
        imprint["hash_algorithm"]["algorithm"].native,
        imprint["hashed_message"].native,
        tst["gen_time"].native,
    )


def openssl_verify(token_der, imprint, root_pem, gen_time):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.der")
        with open(path, "wb") as f:
            f.write(token_der)
        r = subprocess.run(
            ["openssl", "ts", "-verify", "-digest", imprint.hex(), "-in", path, "-token_in",
             "-CAfile", root_pem, "-attime", str(int(gen_time.timestamp()))],
            capture_output=True, text=True)
        return r.returncode == 0 and "Verification: OK" in r.stdout, (r.stdout + r.stderr).strip()


def verify(package, root_pem):
    with zipfile.ZipFile(package) as z:
        names = z.namelist()
        if names[0] != "mimetype" or z.read("mimetype") != b"application/vnd.etsi.asic-s+zip":
            return False, "not an ASiC-S container", []
        data_names = [n for n in names[1:] if not n.startswith("META-INF/")]
        if len(data_names) != 1:
            return False, "not exactly one data object", []
        data = z.read(data_names[0])
        ers_der = z.read("META-INF/evidencerecord.ers")
    record = EvidenceRecord.load(ers_der, strict=True)
    if record["version"].native != 1:
        return False, "version", []
    listed = {a["algorithm"].native for a in record["digest_algorithms"]}
    chains = list(record["archive_time_stamp_sequence"])
    stamps = []
    for c, chain in enumerate(chains):
        previous = None
        for j, ats in enumerate(chain):
            token = ats["time_stamp"]
            token_der = token.dump()
            alg, imprint, gen_time = token_info(token)
            if ats["digest_algorithm"].native is not None:
                if ats["digest_algorithm"]["algorithm"].native != alg:
                    return False, f"chain {c} ats {j}: digestAlgorithm is not the imprint's", stamps
            if alg not in listed:
                return False, f"{alg} not in digestAlgorithms", stamps
            tree = ats["reduced_hashtree"] if ats["reduced_hashtree"].native is not None else None
            if previous is not None:
                candidates = [digest(alg, previous)]
            elif c == 0:
                candidates = [digest(alg, data)]
            else:
                hd = digest(alg, data)
                # The DER of the ArchiveTimeStampSequence of the chains before this one.
                earlier = der_sequence(b"".join(ch.dump() for ch in chains[:c]))
                ha = digest(alg, earlier)
                candidates = [digest(alg, hd, ha), digest(alg, *sorted([hd, ha]))]
            roots = [walk(alg, x, tree) for x in candidates]
            if imprint not in roots:
                return False, f"chain {c} ats {j}: the hash tree does not lead to the token's imprint", stamps
            ok, out = openssl_verify(token_der, imprint, root_pem, gen_time)
            if not ok:
                return False, f"chain {c} ats {j}: openssl: {out}", stamps
            stamps.append({"chain": c, "index": j, "hash": alg, "gen_time": gen_time.isoformat()})
            previous = token_der
    return True, "verified", stamps


if __name__ == "__main__":
    ok, why, stamps = verify(sys.argv[1], sys.argv[2])
    print(json.dumps({"verified": ok, "reason": why, "stamps": stamps}))
    sys.exit(0 if ok else 1)
