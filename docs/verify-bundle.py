#!/usr/bin/env python3
"""Checks a Deprov evidence bundle with nothing but Python's standard library and the openssl command.

Usage: verify-bundle.py evidence.zip [--key 'name+id+base64']   (exit 0 = every record proven, 1 = not)

Written from docs/evidence.md alone, so that an auditor need not trust Deprov's own verifier.
"""
import base64, hashlib, json, os, struct, subprocess, sys, tempfile, zipfile

def chain_hash(r):
    # SHA-256(prev_hash || seq || at ticks || 11 length-prefixed UTF-8 fields); length -1 marks null.
    data = bytes.fromhex(r["prevHash"]) + struct.pack(">qq", r["seq"], r["atUtcTicks"])
    for name in ["actor", "action", "systemId", "target", "personId", "caseId", "stepId", "before", "after", "outcome", "detail"]:
        v = r[name]
        if v is None:
            data += struct.pack(">i", -1)
        else:
            b = v.encode("utf-8")
            data += struct.pack(">i", len(b)) + b
    return hashlib.sha256(data).digest()

def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()

def verify_inclusion(index, size, leaf, proof, root):
    # RFC 9162 section 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root

def main():
    args = sys.argv[1:]
    key_text = None
    if "--key" in args:
        i = args.index("--key")
        key_text = args[i + 1]
        del args[i:i + 2]
    z = zipfile.ZipFile(args[0])
    note = z.read("checkpoint.txt").decode("utf-8")
    key_text = (key_text or z.read("key.txt").decode()).strip()
    name, key_id, key_b64 = key_text.split("+", 2)
    key = base64.b64decode(key_b64)
    assert key[0] == 1 and len(key) == 33, "not an Ed25519 verifier key"
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_id, "key ID does not match the key"

    # The signed text ends at the last blank line; each signature line is '— name base64(keyID || sig)'.
    text, sigs = note[: note.rindex("\n\n") + 1], note[note.rindex("\n\n") + 2 :].splitlines()
    ok_sig = False
    with tempfile.TemporaryDirectory() as d:
        pem = os.path.join(d, "key.pem")
        der = bytes.fromhex("302a300506032b6570032100") + key[1:]  # SubjectPublicKeyInfo for Ed25519
        with open(pem, "w") as f:
            f.write("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n")
        with open(os.path.join(d, "text"), "wb") as f:
            f.write(text.encode("utf-8"))
        for line in sigs:
            sig_name, blob = line[2:].split(" ")
            blob = base64.b64decode(blob)
            if sig_name != name or blob[:4].hex() != key_id:
                continue
            with open(os.path.join(d, "sig"), "wb") as f:
                f.write(blob[4:])
            res = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pem, "-rawin",
                                  "-in", os.path.join(d, "text"), "-sigfile", os.path.join(d, "sig")], capture_output=True)
            if res.returncode != 0:
                print("FAILED: the checkpoint signature does not verify")
                return 1
            ok_sig = True
    if not ok_sig:
        print("FAILED: no signature by the key")
        return 1

    origin, size, root = text.split("\n")[:3]
    size, root = int(size), base64.b64decode(root)
    manifest = json.loads(z.read("records.json"))
    bad = 0
    for r in manifest["records"]:
        h = chain_hash(r)
        if h.hex() != r["hash"]:
            print(f"record {r['seq']}: content does not match its hash"); bad += 1; continue
        leaf = hashlib.sha256(b"\x00" + h).digest()
        if not verify_inclusion(r["seq"] - 1, size, leaf, [base64.b64decode(p) for p in r["proof"]], root):
            print(f"record {r['seq']}: not proven in the tree of {size}"); bad += 1
        if r["personId"] != manifest["person"]:
            print(f"record {r['seq']}: about someone else"); bad += 1
    print(f"{'OK' if bad == 0 else 'FAILED'}: {len(manifest['records'])} records of {manifest['person']} checked against {origin} at {size} records")
    return 0 if bad == 0 else 1

if __name__ == "__main__":
    sys.exit(main())
