"""An independent tlog-tiles client (Python standard library only), written from the C2SP
specs, not from Tamga's code: it fetches a log's checkpoint, parses it as a signed note and a
checkpoint, checks the key ID of the signature line against the log's vkey, downloads every
entry bundle and level-0 tile the checkpoint's size requires, checks that each entry hashes to
its tile hash, and recomputes the RFC 6962 root. (Ed25519 is not in the standard library, so
the signature bytes themselves are checked by the Rust side; this client checks everything
else.) Usage: tlog_verify.py BASE_URL LOG VKEY  -> prints "ok SIZE ROOT" or exits non-zero.
"""
import base64
import hashlib
import sys
import urllib.request


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def tile_path(n):
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n > 0:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def mth(hashes):
    if len(hashes) == 0:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:])).digest()


def main():
    base, log, vkey = sys.argv[1], sys.argv[2], sys.argv[3]
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64)
    want_id = hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex()
    assert want_id == key_id_hex, "vkey key id does not match its key"
    note = get(f"{base}/ledger/{log}/checkpoint").decode("utf-8")
    text, sigs = note.rsplit("\n\n", 1)
    text += "\n"
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    assert origin == name, f"origin {origin} is not the key name {name}"
    mine = [s for s in sigs.strip("\n").split("\n") if s.startswith("\u2014 " + name + " ")]
    assert mine, "no signature line from the log"
    raw = base64.b64decode(mine[0].split(" ")[2])
    assert raw[:4].hex() == key_id_hex, "signature key id differs"
    assert len(raw) == 4 + 64, "not an Ed25519 signature"
    leaves = []
    for n in range((size + 255) // 256):
        width = min(256, size - n * 256)
        suffix = "" if width == 256 else f".p/{width}"
        bundle = get(f"{base}/ledger/{log}/tile/entries/{tile_path(n)}{suffix}")
        tile = get(f"{base}/ledger/{log}/tile/0/{tile_path(n)}{suffix}")
        assert len(tile) == 32 * width, "tile width"
        pos = 0
        for i in range(width):
            ln = int.from_bytes(bundle[pos:pos + 2], "big")
            entry = bundle[pos + 2:pos + 2 + ln]
            pos += 2 + ln
            h = hashlib.sha256(b"\x00" + entry).digest()
            assert h == tile[32 * i:32 * i + 32], f"entry {n * 256 + i} does not hash to its tile hash"
            leaves.append(h)
        assert pos == len(bundle), "bundle has trailing bytes"
    assert mth(leaves) == root, "recomputed root differs from the checkpoint"
    print("ok", size, base64.b64encode(root).decode())


if __name__ == "__main__":
    main()
