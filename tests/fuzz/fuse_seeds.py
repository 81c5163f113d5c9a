#!/usr/bin/env python3
"""Seed inputs for tests/fuzz/fuzz_fuse.c: short request sequences that walk the
server's main paths (lookup/open/read, create/write/truncate, directories and
READDIR paging, links and renames, xattrs, seek/fallocate/copy, locks, forget,
the read-only server), so mutation starts deep instead of at random bytes.

The encoding mirrors fuzz_fuse.c (see its header comment): records of
[u8 len][body], body = opcode selector, flags, split, reply-size selector, then
the opcode's fields in the order build_arg() takes them.  OPTAB, NAMES and
TARGETS must stay in sync with optab[], names[] and targets[] there; a seed
that drifts is still a valid input, only a less useful one.

usage: fuse_seeds.py OUTDIR
"""
import os
import struct
import sys

# optab[] in fuzz_fuse.c: every opcode 1..51 but the unused 7 and 19, then repeats.
OPTAB = [op for op in range(1, 52) if op not in (7, 19)] + [1, 14, 15, 16, 35, 44, 9]
(LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR,
 RENAME, LINK, OPEN, READ, WRITE, STATFS, RELEASE, FSYNC, SETXATTR, GETXATTR,
 LISTXATTR, REMOVEXATTR, FLUSH, INIT, OPENDIR, READDIR, RELEASEDIR, FSYNCDIR,
 GETLK, SETLK, SETLKW, ACCESS, CREATE, INTERRUPT, BMAP, DESTROY) = (
    1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23,
    24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38)
BATCH_FORGET, FALLOCATE, READDIRPLUS, RENAME2, LSEEK, COPY_FILE_RANGE = 42, 43, 44, 45, 46, 47
SYNCFS, TMPFILE = 50, 51

NAMES = ["f1", "big", "empty", "f1_hard", "exe", "dir", "many", "up", "up_secret", "abs",
         "inner", "dangling", "loop", "fifo", "ro_dir", "a", "b", "c", "new", "sub", "g",
         "n07", "..", ".", "", "x/y", "/", "outside", "share", "secret", "\xff\xfe", " ",
         "a\nb", "user.k", "user.new", "user.", "trusted.t", "security.capability",
         "system.posix_acl_access", "security.selinux", "mnt", "m", "../esc", "../outside/secret",
         "../outside/new", "dir/../../esc", "<abs outside/new>", "<255>", "<256>"]
TARGETS = ["f1", "../outside", "../outside/secret", "/", "<abs outside>", "",
           "dir/../../outside", "dir", "/proc/self/root", "loop"]
OFLAGS = ["RDONLY", "WRONLY", "RDWR", "RDWR|TRUNC", "WRONLY|APPEND", "RDONLY|TRUNC",
          "RDWR|EXCL"]
PERMS = [0o644, 0o755, 0o600]

ROOT = 0x100  # pick_node: a byte in 160..199 is the root
RO = 7        # flags: bits 0-2 all set: the read-only server B


def name(n):
    return bytes([NAMES.index(n)])


def node(i):
    """The i-th nodeid of the pool (0: root, then in reply order)."""
    return bytes([170 if i == ROOT else i])


def fh(i):
    """The i-th fh of the pool, with its own nodeid."""
    return bytes([i, 0])


def req(op, fields=b"", flags=0, split=0, osel=0):
    body = bytes([OPTAB.index(op), flags, split, osel]) + fields
    assert len(body) < 255
    return bytes([len(body)]) + body


def lookup(parent, n, **kw):
    return req(LOOKUP, node(parent) + name(n), **kw)


def open_(nd, how="RDONLY", **kw):
    return req(OPEN, node(nd) + bytes([OFLAGS.index(how), 0]), **kw)


def opendir(nd, **kw):
    return req(OPENDIR, node(nd) + bytes([0, 0]), **kw)


def read(f, off=0, size_sel=0, **kw):
    # pick_fh, one ignored byte, pick_off, size selector, read_flags, flags
    return req(READ, fh(f) + bytes([0, off, size_sel, 0, 0]), **kw)


def readdir(f, plus=False, off_sel=0, size_sel=0, **kw):
    return req(READDIRPLUS if plus else READDIR, fh(f) + bytes([off_sel, size_sel, 0, 0]), **kw)


def write(f, data, off=0, **kw):
    return req(WRITE, fh(f) + bytes([off, 0, 0, len(data), 0]) + data, **kw)


def release(f, op=RELEASE, **kw):
    return req(op, fh(f) + bytes([0, 0]), **kw)


def create(parent, n, how="RDWR", perm=0, **kw):
    return req(CREATE, node(parent) + bytes([OFLAGS.index(how), perm, 0, 0]) + name(n), **kw)


def mkdir(parent, n, **kw):
    return req(MKDIR, node(parent) + bytes([1, 0, 0]) + name(n), **kw)


def getattr_(f, **kw):
    return req(GETATTR, fh(f) + bytes([0]), **kw)


def setattr_size(f, size_off_sel, valid=(1 << 3) | (1 << 6), **kw):
    # fh, valid (u16), size pick_off, perm, b(<200: no type, uid/gid 0), 4 time bytes, owner
    return req(SETATTR, fh(f) + struct.pack("<H", valid) + bytes([size_off_sel, 0, 0, 0, 0, 0, 0, 0]), **kw)


def setxattr(nd, n, value, **kw):
    return req(SETXATTR, node(nd) + bytes([len(value), 0, 0]) + value + name(n), **kw)


def getxattr(nd, n, size_sel=64, **kw):
    return req(GETXATTR, bytes([size_sel]) + node(nd) + name(n), **kw)


def listxattr(nd, size_sel=64, **kw):
    return req(LISTXATTR, bytes([size_sel]) + node(nd), **kw)


def seeds():
    s = {}
    s["read_file"] = (lookup(ROOT, "f1") + open_(1) + read(0) + read(0, off=5, size_sel=3) +
                      req(FLUSH, fh(0) + bytes([0])) + release(0) + getattr_(0))
    s["create_write"] = (create(ROOT, "new") + write(0, b"some data\n") + read(0) +
                         req(FSYNC, fh(0) + bytes([1])) + setattr_size(0, 3) + getattr_(0) +
                         release(0) + req(UNLINK, node(ROOT) + name("new")))
    s["dirs"] = (mkdir(ROOT, "a") + create(1, "b") + release(0) +
                 req(RENAME2, node(1) + node(ROOT) + bytes([0, 0]) + name("b") + name("c")) +
                 req(RMDIR, node(ROOT) + name("a")) + req(UNLINK, node(ROOT) + name("c")) +
                 req(RMDIR, node(ROOT) + name("a")))
    # READDIRPLUS adds nodeids to the pool: look up first, list after
    s["readdir"] = (lookup(ROOT, "many") + opendir(ROOT) + opendir(1) + readdir(1, size_sel=4) +
                    readdir(1, off_sel=33, size_sel=4) + readdir(1, plus=True, off_sel=34, size_sel=3) +
                    readdir(0, plus=True) + readdir(0, off_sel=40) +
                    release(1, RELEASEDIR) + release(0, RELEASEDIR))
    s["links"] = (lookup(ROOT, "up") + req(READLINK, node(1)) + lookup(ROOT, "abs") +
                  req(READLINK, node(2)) + lookup(1, "secret") +
                  req(SYMLINK, node(ROOT) + name("new") + bytes([1])) + lookup(ROOT, "f1") +
                  req(LINK, node(4) + node(ROOT) + name("a")) + lookup(ROOT, "..") +
                  lookup(ROOT, "fifo") + open_(7))
    s["xattr"] = (lookup(ROOT, "f1") + getxattr(1, "user.k") + getxattr(1, "user.k", size_sel=0) +
                  setxattr(1, "user.new", b"value") + listxattr(1) + listxattr(1, size_sel=0) +
                  req(REMOVEXATTR, node(1) + name("user.k")) + setxattr(1, "trusted.t", b"x"))
    s["seek_alloc_copy"] = (lookup(ROOT, "big") + open_(1, "RDWR") + create(ROOT, "new") +
                            req(LSEEK, fh(0) + bytes([10, 0, 3])) +
                            req(FALLOCATE, fh(1) + bytes([0, 130, 0, 1])) +
                            req(COPY_FILE_RANGE, fh(0) + bytes([0]) + fh(1) + bytes([0, 150, 0])) +
                            read(1, size_sel=0))
    s["locks"] = (lookup(ROOT, "f1") + open_(1, "RDWR") +
                  req(SETLK, fh(0) + bytes([1, 0, 10, 1, 0, 0])) +
                  req(GETLK, fh(0) + bytes([2, 0, 10, 0, 0, 0])) +
                  req(SETLK, fh(0) + bytes([1, 0, 10, 2, 0, 0])) + release(0))
    s["forget"] = (lookup(ROOT, "dir") + lookup(1, "g") + lookup(1, "g") +
                   req(FORGET, bytes([0]) + node(2)) +
                   req(BATCH_FORGET, bytes([2, 0]) + node(1) + bytes([0]) + node(2) + bytes([0])) +
                   req(GETATTR, bytes([200, 0]) + node(2) + bytes([0])) +
                   req(DESTROY, node(ROOT)) + lookup(ROOT, "f1") +
                   req(INIT, bytes([0, 0, 0, 0, 0, 0])) + lookup(ROOT, "f1"))
    s["readonly"] = (lookup(ROOT, "f1", flags=RO) + open_(1, "RDWR", flags=RO) +
                     open_(1, flags=RO) + read(0, flags=RO) + create(ROOT, "new", flags=RO) +
                     setxattr(1, "user.new", b"v", flags=RO) + opendir(ROOT, flags=RO) +
                     readdir(1, plus=True, flags=RO))
    s["split_small_reply"] = (lookup(ROOT, "f1", split=0x83) + open_(1, split=0x85, osel=0xd2) +
                              read(0, split=0x80, osel=0xb4) + lookup(ROOT, "dir", osel=0xa8) +
                              getattr_(0, osel=0xc7) + lookup(ROOT, "many", osel=0xf3) +
                              opendir(2, osel=0xd3) + readdir(1, plus=True, osel=0xe5))
    s["uid1000"] = (lookup(ROOT, "ro_dir", flags=0x80) + create(1, "new", flags=0x80) +
                    req(ACCESS, node(1) + bytes([0, 2]), flags=0x80) + mkdir(ROOT, "a", flags=0x80) +
                    lookup(ROOT, "exe", flags=0x80) + req(ACCESS, node(3) + bytes([0, 1]), flags=0x80))
    # more inodes than server A keeps fds for: idle ones are closed, then reopened by handle
    # (listing "many" again finds closed ones; "exe", unlinked while closed, is gone for good)
    s["lru"] = (lookup(ROOT, "exe") + lookup(ROOT, "many") + opendir(2) + readdir(0, plus=True) +
                req(UNLINK, node(ROOT) + name("exe")) +
                req(GETATTR, bytes([200, 0]) + node(1) + bytes([0])) +
                opendir(ROOT) + readdir(1, plus=True) + readdir(0, plus=True) +
                req(GETATTR, bytes([200, 0]) + node(3) + bytes([0])) + open_(4) + read(2))
    # a lock another fh holds: SETLKW waits until the harness's INTERRUPT (even unique),
    # then one INTERRUPT sent ahead of its request, then an odd unique (cancel_waits)
    s["lock_wait"] = (lookup(ROOT, "f1") + open_(1, "RDWR") + open_(1, "RDWR") +
                      req(SETLK, fh(0) + bytes([1, 0, 10, 1, 0, 0])) +
                      req(SETLKW, fh(1) + bytes([2, 0, 10, 1, 0, 0])) +
                      req(INTERRUPT, bytes([150, 0])) +
                      req(SETLKW, fh(1) + bytes([2, 0, 10, 1, 0, 0])) +
                      req(SETLKW, fh(1) + bytes([2, 0, 10, 0, 0, 1])) +
                      req(SETLK, fh(0) + bytes([1, 0, 10, 2, 0, 0])) +
                      req(SETLKW, fh(1) + bytes([2, 0, 10, 1, 0, 0])) + release(0) + release(1))
    # the filesystem mounted on share/mnt (when the harness could mount it)
    s["submount"] = (lookup(ROOT, "mnt") + lookup(1, "m") + open_(2, "RDWR") + read(0) +
                     req(LINK, node(2) + node(ROOT) + name("a")) +
                     req(RENAME2, node(1) + node(ROOT) + bytes([0, 0]) + name("m") + name("b")) +
                     create(1, "new") + opendir(1) + readdir(2, plus=True) +
                     req(RMDIR, node(ROOT) + name("mnt")) + getattr_(0))
    # names that are paths: each must fail without touching anything outside
    s["escape_names"] = (mkdir(ROOT, "../esc") + create(ROOT, "../outside/new") +
                         req(SYMLINK, node(ROOT) + name("dir/../../esc") + bytes([0])) +
                         lookup(ROOT, "f1") +
                         req(LINK, node(1) + node(ROOT) + name("<abs outside/new>")) +
                         req(RENAME2, node(ROOT) + node(ROOT) + bytes([0, 0]) + name("f1") +
                             name("../outside/secret")) +
                         req(UNLINK, node(ROOT) + name("../outside/secret")) +
                         lookup(ROOT, "../outside/secret") + lookup(ROOT, "up") +
                         lookup(2, "secret") + req(MKNOD, node(ROOT) + bytes([0, 0, 0, 0, 0]) +
                                                   name("../esc")))
    return s


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for k, v in seeds().items():
        with open(os.path.join(out, k), "wb") as f:
            f.write(v)
    print(f"{len(seeds())} seeds in {out}")


if __name__ == "__main__":
    main()
