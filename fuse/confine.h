/*
 * confine.h - the switch behind the FUSE server's own confinement, for the
 * test that proves the sandbox holds without it.
 *
 * The server keeps every request inside its share by itself: a name is one
 * path component (no '/', not "." or ".."; fuse_ops.c get_name()), ".."
 * never leaves the share's root (passthrough_lookup_dotdot()), and every
 * lookup resolves beneath its directory without following a symlink
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
 * passthrough.c open_beneath()).  vmm/sandbox.c is the second wall, for the
 * day one of those has a bug.  To show that it is one, the Makefile builds
 * fuse/ a second time with FSRV_TEST_UNCONFINED defined, where FSRV_CONFINED
 * is 0 and all three are off, and links that copy into
 * tests/unit/test_sandbox_holds only.  minivmm can never contain it: the
 * Makefile refuses FSRV_TEST_UNCONFINED in CFLAGS, and fuse_server.c's copy
 * then defines fsrv_unconfined_build, which vmm/main.c defines too, so such
 * an object fails to link into the program.
 */
#ifndef MINIVMM_FUSE_CONFINE_H
#define MINIVMM_FUSE_CONFINE_H

#ifdef FSRV_TEST_UNCONFINED
#define FSRV_CONFINED 0
#else
#define FSRV_CONFINED 1
#endif

#endif
