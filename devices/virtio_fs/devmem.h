/*
 * devmem.h - serving a virtio-fs request whose buffers lie partly in device
 * memory (a DAX window, lib/gmem.h) through bounce buffers.
 *
 * A guest process may write() from, or read() into, a mapping of a file on
 * a DAX mount; with direct I/O the guest kernel then hands those very pages
 * (window addresses) to the device.  Window pages can be host file pages
 * past a truncated end, which raise SIGBUS when the VMM touches them, so
 * such a request is copied in with process_vm_readv() and its reply copied
 * out with process_vm_writev(), which fail with EFAULT instead.  A request
 * that cannot be read whole is answered with EFAULT (if its header could be
 * read) and never reaches the server.  Only these rare requests pay for the
 * copies; requests in RAM are served in place.
 */
#ifndef MINIVMM_DEVICES_VIRTIO_FS_DEVMEM_H
#define MINIVMM_DEVICES_VIRTIO_FS_DEVMEM_H

#include <stddef.h>
#include <sys/uio.h>

#include "devices/virtio_mmio/virtqueue.h"
#include "fuse/fuse_server.h"

/* Largest request or reply bounced (a 1 MiB WRITE/READ and its headers). */
#define DEVMEM_MAX_BOUNCE ((size_t)(1u << 20) + 65536)

/*
 * Serve r (whose r->devmem is set) with handle(s, ...): fsrv_serve() or a
 * test's stand-in.  Returns the reply
 * bytes written to r's writable segments, as fsrv_serve() does.
 */
size_t devmem_serve(fsrv_serve_fn handle, struct fsrv *s, const struct vq_req *r);

#endif
