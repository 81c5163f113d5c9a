#!/usr/bin/env python3
"""Write seed inputs for fuzz_virtqueue (valid split rings) into a directory.

Input layout (see tests/fuzz/fuzz_virtqueue.c): a 16-byte header, then the
image of guest RAM region 0 (GPA 0x10000: descriptor table at +0, avail ring
at +0x1000, used ring at +0x2000), then optional 4-byte driver writes.
Usage: tests/fuzz/virtqueue_seeds.py DIR
"""
import os
import struct
import sys

R0 = 0x10000
NEXT, WRITE, INDIRECT = 1, 2, 4


def seed(shift, feats, last_avail, chains, table=None, ops=b"", nops=0):
    num = 1 << shift
    hdr = bytearray(16)
    hdr[0] = shift
    hdr[2] = feats
    hdr[6:8] = struct.pack("<H", last_avail)
    hdr[9] = nops
    hdr[10] = 1
    hdr[11] = 0xff
    hdr[12] = 0x55
    ram = bytearray(0x9000)
    descs = {}
    heads = []
    for chain in chains:  # chain: list of (desc index, len, flags, next)
        heads.append(chain[0][0])
        for i, ln, fl, nx in chain:
            descs[i] = (R0 + 0x3000 + i * 0x40, ln, fl, nx)
    if table is not None:  # (head index, [(len, flags, next)]) at +0x8000
        head, ents = table
        for k, (ln, fl, nx) in enumerate(ents):
            struct.pack_into("<QIHH", ram, 0x8000 + 16 * k, R0 + 0x5000 + 0x40 * k, ln, fl, nx)
        descs[head] = (R0 + 0x8000, 16 * len(ents), INDIRECT, 0)
        heads.append(head)
    for i, (a, ln, fl, nx) in descs.items():
        struct.pack_into("<QIHH", ram, 16 * i, a, ln, fl, nx)
    idx = last_avail
    for h in heads:
        struct.pack_into("<H", ram, 0x1000 + 4 + 2 * (idx % num), h)
        idx = (idx + 1) & 0xffff
    struct.pack_into("<HH", ram, 0x1000, 0, idx)
    struct.pack_into("<H", ram, 0x1000 + 4 + 2 * num, (last_avail + 1) & 0xffff)
    return bytes(hdr) + bytes(ram) + ops


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {
        "simple": seed(3, 3, 0, [[(0, 16, NEXT, 1), (1, 32, WRITE, 0)]]),
        "multi": seed(4, 3, 0, [[(2, 8, NEXT, 5), (5, 8, NEXT, 7), (7, 64, WRITE | NEXT, 9),
                                  (9, 16, WRITE, 0)], [(0, 4, 0, 0)], [(1, 12, WRITE, 0)]]),
        "indirect": seed(3, 3, 0, [[(0, 16, 0, 0)]],
                         table=(4, [(16, NEXT, 1), (24, NEXT, 2), (32, WRITE, 0)])),
        "wrap": seed(2, 1, 65534, [[(0, 8, 0, 0)], [(1, 8, WRITE, 0)], [(2, 8, 0, 0)]]),
        "noevent": seed(5, 0, 100, [[(3, 100, NEXT, 4), (4, 200, WRITE, 0)]]),
        # Driver writes: bump avail->idx and add ring entries between steps.
        "driver": seed(3, 3, 0, [[(0, 16, 0, 0)]],
                       ops=struct.pack("<HH", 0x1006, 0) + struct.pack("<HH", 0x1002, 2) +
                       struct.pack("<HH", 0x1008, 1) + struct.pack("<HH", 0x1002, 3),
                       nops=4),
    }
    # One more segment than VQ_MAX_SEGS (1024): a 1025-entry indirect table.
    segs = bytearray(seed(3, 3, 0, [[(0, 8, 0, 0)]]))
    for k in range(1025):
        struct.pack_into("<QIHH", segs, 16 + 0x4000 + 16 * k, R0 + 0x3000 + k, 1,
                         NEXT if k < 1024 else 0, k + 1)
    struct.pack_into("<QIHH", segs, 16, R0 + 0x4000, 16 * 1025, INDIRECT, 0)
    seeds["segs"] = bytes(segs)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
