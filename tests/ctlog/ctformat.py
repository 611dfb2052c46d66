"""ctformat - the byte formats a CT log serves, for the ctlog test server.

RFC 6962: MerkleTreeLeaf (leaf_input), extra_data, the Merkle Tree Hash
(§2.1), the TreeHeadSignature and its DigitallySigned encoding (§3.5).
C2SP static-ct-api / tlog-tiles / signed-note: TileLeaf, the leaf_index
extension, data and hash tile paths (x001/x234/067), the checkpoint note
with an RFC6962NoteSignature and its key ID.

Pure functions plus one incremental Merkle tree; raises on bad input.
"""
import base64
import hashlib

from certgen import digitally_signed, u8, u16, u24, u64

X509_ENTRY = 0
PRECERT_ENTRY = 1


# ---- RFC 6962 leaves -------------------------------------------------------


def leaf_index_ext(index):
    """CtExtensions holding one leaf_index extension (static-ct-api):
    type 0, length 5, uint40 big-endian."""
    return u8(0) + u16(5) + index.to_bytes(5, "big")


def timestamped_entry(e, extensions=b""):
    out = u64(e.ts_ms)
    if e.kind == "x509":
        out += u16(X509_ENTRY) + u24(len(e.cert)) + e.cert
    else:
        out += (u16(PRECERT_ENTRY) + e.issuer_key_hash + u24(len(e.tbs)) +
                e.tbs)
    return out + u16(len(extensions)) + extensions


def merkle_tree_leaf(e, extensions=b""):
    """leaf_input: version v1 (0), leaf_type timestamped_entry (0)."""
    return u8(0) + u8(0) + timestamped_entry(e, extensions)


def extra_data(e):
    chain = b"".join(u24(len(c.der)) + c.der for c in e.chain)
    chain = u24(len(chain)) + chain
    if e.kind == "x509":
        return chain                                 # certificate_chain
    return u24(len(e.cert)) + e.cert + chain          # PrecertChainEntry


def tile_leaf(e, extensions):
    """static-ct-api TileLeaf."""
    out = timestamped_entry(e, extensions)
    if e.kind == "precert":
        out += u24(len(e.cert)) + e.cert
    fps = b"".join(c.sha256 for c in e.chain)
    return out + u16(len(fps)) + fps


def leaf_hash(leaf_input):
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


class MerkleTree:
    """Append-only RFC 6962 tree.  levels[h][j] is the hash of the perfect
    subtree of 2^h leaves starting at leaf j * 2^h, kept for every level,
    so the root of any size and any tlog hash tile cost O(log n)."""

    def __init__(self):
        self.levels = [[]]

    def __len__(self):
        return len(self.levels[0])

    def append(self, lh):
        self.levels[0].append(lh)
        h = 0
        while len(self.levels[h]) % 2 == 0:
            if len(self.levels) == h + 1:
                self.levels.append([])
            lv = self.levels[h]
            self.levels[h + 1].append(node_hash(lv[-2], lv[-1]))
            h += 1

    def root(self, size=None):
        """MTH of the first size leaves (RFC 6962 §2.1)."""
        size = len(self) if size is None else size
        if size > len(self):
            raise ValueError("size beyond tree")
        if size == 0:
            return EMPTY_ROOT
        # the perfect subtrees of the binary decomposition, left to right
        parts = []
        start = 0
        for h in range(size.bit_length() - 1, -1, -1):
            if size & (1 << h):
                parts.append(self.levels[h][start >> h])
                start += 1 << h
        acc = parts[-1]
        for p in reversed(parts[:-1]):
            acc = node_hash(p, acc)
        return acc

    def hash_tile(self, level, n, width):
        """tlog tile: hashes at tree height 8*level, nodes n*256 ..
        n*256+width-1."""
        lv = self.levels[8 * level] if 8 * level < len(self.levels) else []
        if n * 256 + width > len(lv):
            raise ValueError("tile beyond tree")
        return b"".join(lv[n * 256:n * 256 + width])


# ---- signatures -------------------------------------------------------------


def tree_head_signed_data(ts_ms, size, root):
    """RFC 6962 §3.5 TreeHeadSignature: v1, tree_hash(1), ts, size, root."""
    return u8(0) + u8(1) + u64(ts_ms) + u64(size) + root


def sign_tree_head(key, ts_ms, size, root):
    """DigitallySigned TreeHeadSignature, as tree_head_signature carries."""
    return digitally_signed(key.sign_random(
        tree_head_signed_data(ts_ms, size, root)), key)


def log_id(key):
    return hashlib.sha256(key.spki).digest()


def note_key_id(origin, lid):
    """static-ct-api: SHA-256(name || 0x0A || 0x05 || LogID)[:4]."""
    return hashlib.sha256(origin.encode() + b"\n\x05" + lid).digest()[:4]


def checkpoint_body(origin, size, root):
    return "%s\n%d\n%s\n" % (origin, size, base64.b64encode(root).decode())


def sig_line(name, raw):
    return "\u2014 %s %s\n" % (name, base64.b64encode(raw).decode())


def checkpoint(origin, size, root, ts_ms, tree_head_sig, lid, before=(),
               after=()):
    """Signed note: body, blank line, the log's signature line
    "— <origin> base64(keyid || u64 timestamp || DigitallySigned)", with
    other signature lines (name, raw) before and after it."""
    sig = note_key_id(origin, lid) + u64(ts_ms) + tree_head_sig
    lines = [sig_line(n, r) for n, r in before] + [sig_line(origin, sig)] + \
        [sig_line(n, r) for n, r in after]
    return (checkpoint_body(origin, size, root) + "\n" + "".join(lines)).encode()


# ---- tiles ------------------------------------------------------------------


def tile_index_path(n):
    """1234067 -> "x001/x234/067"; 0 -> "000"."""
    groups = []
    while True:
        groups.append("%03d" % (n % 1000))
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def parse_tile_index(parts):
    """Inverse of tile_index_path over its path elements; None when the
    elements are not in canonical form."""
    if not parts:
        return None
    n = 0
    for k, p in enumerate(parts):
        last = k == len(parts) - 1
        if last:
            if len(p) != 3 or not p.isdigit():
                return None
            d = p
        else:
            if len(p) != 4 or p[0] != "x" or not p[1:].isdigit():
                return None
            d = p[1:]
        n = n * 1000 + int(d)
    if tile_index_path(n) != "/".join(parts):
        return None                       # e.g. a leading x000 group
    return n


def data_tile_path(n, width=256):
    p = "tile/data/" + tile_index_path(n)
    return p if width == 256 else "%s.p/%d" % (p, width)


def hash_tile_path(level, n, width=256):
    p = "tile/%d/%s" % (level, tile_index_path(n))
    return p if width == 256 else "%s.p/%d" % (p, width)
