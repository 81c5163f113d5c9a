/*
 * terminal.h - the host terminal side of the guest's serial console.
 *
 * Connects the UART's byte streams to two host file descriptors (normally
 * stdin and stdout).  When the input is a terminal it is put in raw mode
 * (no echo, no line editing, ISIG off so Ctrl-C/Ctrl-Z/Ctrl-\ reach the
 * guest) and its original settings are restored on every way out: terminal_close(),
 * exit() (atexit), and the fatal signals SIGTERM, SIGINT, SIGHUP, SIGQUIT,
 * SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL (restore, then the previous
 * handler runs, or the default action by re-raising).  On a terminal,
 * Ctrl-A x asks to quit and Ctrl-A Ctrl-A sends one Ctrl-A (as QEMU's -nographic).
 * When the input is not a terminal (a pipe, a file) it passes through
 * unchanged and its end is reported to the caller.
 *
 * Output is written completely (short writes, EINTR and EAGAIN handled);
 * when the reader of out_fd goes away (EPIPE) later output is dropped.  So
 * that a closed pipe does not kill the VMM, terminal_open() sets SIGPIPE to
 * SIG_IGN if it was SIG_DFL; the VMM should ignore SIGPIPE anyway (children
 * it executes inherit that disposition).
 *
 * Process-wide state: the saved termios and the previous signal actions
 * live in one static in terminal.c, because signal and atexit handlers get
 * no argument to find them through, and a process has one controlling
 * terminal.  Hence at most one console may be open on a terminal at a time.
 */
#ifndef MINIVMM_VMM_TERMINAL_H
#define MINIVMM_VMM_TERMINAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* terminal_open() flags. */
#define TERMINAL_NO_RAW 0x1    /* leave a terminal's settings alone */
#define TERMINAL_NO_ESCAPE 0x2 /* no Ctrl-A escape even on a terminal */

#define TERMINAL_ESCAPE_CHAR 0x01 /* Ctrl-A */

/* Fields are private to terminal.c; public so the struct can be embedded. */
struct terminal {
	int in_fd, out_fd;
	bool in_tty;	  /* in_fd is a terminal */
	bool raw;	  /* we changed in_fd's termios: restore on close */
	bool escape;	  /* Ctrl-A sequences are interpreted */
	bool esc_pending; /* saw Ctrl-A, the next byte decides */
	bool out_closed;  /* out_fd's reader went away: output dropped */
};

/* terminal_read() results besides -errno. */
enum terminal_event {
	TERMINAL_DATA = 0, /* *n bytes (maybe 0) for the guest */
	TERMINAL_EOF = 1,  /* in_fd reached end of file; *n == 0 */
	TERMINAL_QUIT = 2, /* the user typed Ctrl-A x; *n bytes before it */
};

/*
 * Set up c for in_fd/out_fd (not owned: never closed here).  If in_fd is a
 * terminal and TERMINAL_NO_RAW is not given, saves its termios, installs
 * the restore handlers (once per process) and switches it to raw mode.
 * The escape is active only on a terminal without TERMINAL_NO_ESCAPE.
 * Returns 0, -EBUSY if another console holds a terminal in raw mode, or
 * -errno from tcgetattr/tcsetattr/sigaction.
 *
 * A handler the VMM installed before terminal_open() for one of the listed
 * signals is chained (called after the restore); one installed afterwards
 * replaces ours and should call terminal_restore_tty() itself.
 */
int terminal_open(struct terminal *c, int in_fd, int out_fd, unsigned int flags);

/*
 * Restore the terminal (if terminal_open changed it) and put back the
 * signal actions it replaced, unless someone replaced them since.
 * Idempotent.  Does not close the fds.
 */
void terminal_close(struct terminal *c);

/*
 * Restore the saved terminal settings now, if any are saved; later calls
 * do nothing.  Async-signal-safe: call it from your own fatal-signal
 * handler.
 */
void terminal_restore_tty(void);

/*
 * Filter host input for the guest (pure apart from c's escape state, so
 * it works on chunks split anywhere).  Copies in[0..n) to out, which must
 * have room for n + 1 bytes (a Ctrl-A held back from the previous call may
 * come out now), and sets *out_n.  With the escape active: Ctrl-A x
 * returns true (quit requested; *out_n bytes before it are still valid,
 * the bytes after it are discarded), Ctrl-A Ctrl-A yields one Ctrl-A,
 * Ctrl-A followed by any other byte yields both bytes unchanged, and a
 * trailing Ctrl-A is held until the next call.  Without the escape the
 * bytes are copied unchanged.
 */
bool terminal_input(struct terminal *c, const uint8_t *in, size_t n, uint8_t *out, size_t *out_n);

/*
 * One read(2) of in_fd (retried on EINTR), filtered by terminal_input().
 * buf must hold cap >= 2 bytes; at most cap - 1 are read so the filter
 * output fits.  Returns an enum terminal_event with *n set, or -errno
 * (-EAGAIN if in_fd is non-blocking and empty).
 */
int terminal_read(struct terminal *c, uint8_t *buf, size_t cap, size_t *n);

/*
 * Write all n bytes to out_fd: retries short writes and EINTR, waits with
 * poll() on EAGAIN (a non-blocking fd is never spun on).  Returns n, or
 * -EPIPE once the reader has gone (remembered: this and later calls drop
 * their bytes), or another -errno (the bytes not written are lost).
 * Not thread-safe against itself on one console: the UART serialises its
 * ops->tx calls.
 */
ssize_t terminal_write(struct terminal *c, const uint8_t *buf, size_t n);

/* True once output has been dropped because out_fd's reader went away. */
bool terminal_output_closed(const struct terminal *c);

#endif
