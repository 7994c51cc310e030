#!/usr/bin/env python3
"""Write the decompression bombs the decoding limits are measured against.

    python3 bench/gen_bombs.py OUT_DIR

  * OUT_DIR/zeros.gz   10 GiB of zeros as 160 concatenated gzip members (~10 MB);
  * OUT_DIR/42.zip     42.zip-style: five levels of 16 zips each (deflated zips of
                       deflated zips), each bottom zip holding one ~4 GiB file of
                       zeros: 16^5 x 4 GiB = 4 PiB when fully unpacked;
  * OUT_DIR/flat.zip   one zip with 16 members of ~4 GiB of zeros each.

Python 3 standard library only; deterministic.
"""

import gzip
import io
import os
import struct
import sys
import zipfile
import zlib

MiB = 1 << 20


def deflated_zeros(mib):
    """A raw deflate stream of `mib` MiB of zeros: one sync-flushed MiB repeated."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b"\0" * MiB) + c.flush(zlib.Z_SYNC_FLUSH)
    return block * mib + b"\x03\x00"


def crc_of_zeros(mib):
    crc, chunk = 0, b"\0" * MiB
    for _ in range(mib):
        crc = zlib.crc32(chunk, crc)
    return crc


def raw_zip(members):
    """members: (name, deflated data, uncompressed size, crc)."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, data, size, crc in members:
        offset = out.tell()
        n = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(n), 0))
        out.write(n)
        out.write(data)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc,
                                    len(data), size, len(n), 0, 0, 0, 0, 0, offset))
        directory.write(n)
    start, cd = out.tell(), directory.getvalue()
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(cd), start, 0))
    return out.getvalue()


def zip_of(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    one = gzip.compress(b"\0" * (64 * MiB), 9)
    with open(os.path.join(out, "zeros.gz"), "wb") as f:
        for _ in range(160):
            f.write(one)

    mib = 4095
    data, crc = deflated_zeros(mib), crc_of_zeros(mib)
    leaf = raw_zip([("0.txt", data, mib * MiB, crc)])
    with open(os.path.join(out, "flat.zip"), "wb") as f:
        f.write(raw_zip([(f"{i:x}.txt", data, mib * MiB, crc) for i in range(16)]))
    level = leaf
    for name in ["page", "doc", "chapter", "book", "lib"]:
        level = zip_of([(f"{name}{i:x}.zip", level) for i in range(16)])
    with open(os.path.join(out, "42.zip"), "wb") as f:
        f.write(level)
    for name in ["zeros.gz", "42.zip", "flat.zip"]:
        print(name, os.path.getsize(os.path.join(out, name)))


if __name__ == "__main__":
    main()
