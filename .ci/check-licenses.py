#!/usr/bin/env python3
"""Every dependency's licence must be compatible with Tamga's Apache-2.0.

Reads `cargo metadata` and evaluates each package's SPDX expression (AND, OR, WITH, parentheses,
and the legacy `A/B` form) against an allowlist of permissive licences. Exits 1 naming every
package that fails, so a new copyleft or unlicensed dependency cannot land unnoticed.
"""
import json
import re
import subprocess
import sys

ALLOWED = {
    "Apache-2.0", "MIT", "MIT-0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Zlib", "CC0-1.0",
    "Unicode-3.0", "Unicode-DFS-2016", "Unlicense", "BSL-1.0", "CDLA-Permissive-2.0",
    "OpenSSL",
}
ALLOWED_EXCEPTIONS = {"LLVM-exception"}


def tokens(expr):
    return re.findall(r"\(|\)|[A-Za-z0-9.+-]+", expr.replace("/", " OR "))


def parse(toks):
    """Returns whether the expression is satisfiable with allowed licences."""
    pos = 0

    def atom():
        nonlocal pos
        tok = toks[pos]
        pos += 1
        if tok == "(":
            value = disjunction()
            pos += 1  # ')'
        else:
            value = tok.rstrip("+") in ALLOWED
        if pos < len(toks) and toks[pos] == "WITH":
            exc = toks[pos + 1]
            pos += 2
            value = value and exc in ALLOWED_EXCEPTIONS
        return value

    def conjunction():
        nonlocal pos
        value = atom()
        while pos < len(toks) and toks[pos] == "AND":
            pos += 1
            value = atom() and value
        return value

    def disjunction():
        nonlocal pos
        value = conjunction()
        while pos < len(toks) and toks[pos] == "OR":
            pos += 1
            value = conjunction() or value
        return value

    return disjunction()


def main():
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked"]))
    bad = []
    for p in meta["packages"]:
        lic = p.get("license")
        if not lic:
            bad.append(f"{p['name']} {p['version']}: no SPDX licence field")
        elif not parse(tokens(lic)):
            bad.append(f"{p['name']} {p['version']}: {lic}")
    if bad:
        print("licences not compatible with Apache-2.0:\n  " + "\n  ".join(bad))
        sys.exit(1)
    print(f"licences: {len(meta['packages'])} packages, all compatible with Apache-2.0")


if __name__ == "__main__":
    main()
