/*
 * terminal.c - see terminal.h.  Terminal mode switching with a restore on
 * every exit path, the Ctrl-A escape filter, and complete writes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "lib/util.h"
#include "vmm/terminal.h"

/* Signals whose default action ends the process without giving the tty back. */
static const int console_signals[] = {
	SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL,
};

/*
 * The one piece of process-wide mutable state (see terminal.h for why):
 * the terminal to restore and the signal actions we displaced.  Written
 * only by terminal_open/close (the VMM's main thread, before/after the
 * vCPUs run); read by the signal and atexit handlers.
 */
static struct {
	volatile sig_atomic_t saved; /* tio must be put back on fd */
	int fd;
	struct termios tio;
	bool atexit_registered;
	bool installed[ARRAY_SIZE(console_signals)];
	struct sigaction old[ARRAY_SIZE(console_signals)];
} console_tty;

void terminal_restore_tty(void)
{
	/* tcsetattr() is async-signal-safe (POSIX.1-2008 2.4.3). */
	if (console_tty.saved) {
		tcsetattr(console_tty.fd, TCSANOW, &console_tty.tio);
		console_tty.saved = 0;
	}
}

static void console_atexit(void)
{
	terminal_restore_tty();
}

static int console_signal_index(int sig)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(console_signals); i++)
		if (console_signals[i] == sig)
			return (int)i;
	return -1;
}

static void console_on_signal(int sig, siginfo_t *si, void *uctx)
{
	int saved_errno = errno, i = console_signal_index(sig);
	const struct sigaction *old = i >= 0 ? &console_tty.old[i] : NULL;
	struct sigaction dfl;

	terminal_restore_tty();
	/* Chain to a handler that was there first (the VMM's, ASan's, ...). */
	if (old && (old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uctx);
		goto out;
	}
	if (old && !(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
	    old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		goto out;
	}
	/*
	 * Default action: reinstate it and raise again.  sig is blocked while
	 * we run, so it is delivered - and ends the process with the right
	 * status, core dump included - as soon as we return (a faulting
	 * instruction would also just fault again).
	 */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
out:
	errno = saved_errno;
}

static void console_uninstall_handlers(void)
{
	struct sigaction cur;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(console_signals); i++) {
		if (!console_tty.installed[i])
			continue;
		console_tty.installed[i] = false;
		/* Leave alone a handler someone installed over ours. */
		if (sigaction(console_signals[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_sigaction == console_on_signal)
			sigaction(console_signals[i], &console_tty.old[i], NULL);
	}
}

static int console_install_handlers(void)
{
	struct sigaction sa;
	unsigned int i;
	int ret;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = console_on_signal;
	/* SA_ONSTACK: a stack overflow's SIGSEGV can run if an altstack exists. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < ARRAY_SIZE(console_signals); i++) {
		/* Save the old action before ours can run and look at it. */
		if (sigaction(console_signals[i], NULL, &console_tty.old[i]))
			goto err;
		/* Someone (nohup, the VMM) wants it ignored: keep it so. */
		if (!(console_tty.old[i].sa_flags & SA_SIGINFO) &&
		    console_tty.old[i].sa_handler == SIG_IGN)
			continue;
		if (sigaction(console_signals[i], &sa, NULL))
			goto err;
		console_tty.installed[i] = true;
	}
	return 0;
err:
	ret = -errno;
	console_uninstall_handlers();
	return ret;
}

/* Writing to a pipe whose reader left must give EPIPE, not kill the VMM. */
static void console_ignore_sigpipe(void)
{
	struct sigaction old, ign;

	if (sigaction(SIGPIPE, NULL, &old) || (old.sa_flags & SA_SIGINFO) ||
	    old.sa_handler != SIG_DFL)
		return;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
}

int terminal_open(struct terminal *c, int in_fd, int out_fd, unsigned int flags)
{
	struct termios raw;
	int ret;

	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->in_tty = isatty(in_fd);
	c->escape = c->in_tty && !(flags & TERMINAL_NO_ESCAPE);
	console_ignore_sigpipe();
	if (!c->in_tty || (flags & TERMINAL_NO_RAW))
		return 0;

	if (console_tty.saved)
		return -EBUSY;
	if (tcgetattr(in_fd, &console_tty.tio))
		return -errno;
	console_tty.fd = in_fd;
	if (!console_tty.atexit_registered) {
		if (atexit(console_atexit))
			return -ENOMEM;
		console_tty.atexit_registered = true;
	}
	ret = console_install_handlers();
	if (ret)
		return ret;

	/*
	 * cfmakeraw() minus the output side: ISIG off so Ctrl-C, Ctrl-Z and
	 * Ctrl-\ are bytes for the guest, no echo, no line editing, no CR/NL
	 * or XON/XOFF mangling of input.  Output post-processing stays as it
	 * was, like QEMU's stdio chardev: the guest's tty already sends CR LF,
	 * and the VMM's own "\n"-terminated log lines on the same terminal
	 * still start at column 0.
	 */
	raw = console_tty.tio;
	cfmakeraw(&raw);
	raw.c_oflag = console_tty.tio.c_oflag;
	/* Armed before the switch: a signal right after it must restore. */
	console_tty.saved = 1;
	if (tcsetattr(in_fd, TCSANOW, &raw)) {
		ret = -errno;
		console_tty.saved = 0;
		console_uninstall_handlers();
		return ret;
	}
	c->raw = true;
	return 0;
}

void terminal_close(struct terminal *c)
{
	if (!c->raw)
		return;
	terminal_restore_tty();
	console_uninstall_handlers();
	c->raw = false;
}

bool terminal_input(struct terminal *c, const uint8_t *in, size_t n, uint8_t *out, size_t *out_n)
{
	size_t i, o = 0;

	if (!c->escape) {
		if (n)
			memcpy(out, in, n);
		*out_n = n;
		return false;
	}
	for (i = 0; i < n; i++) {
		uint8_t ch = in[i];

		if (c->esc_pending) {
			c->esc_pending = false;
			if (ch == 'x') {
				*out_n = o;
				return true;
			}
			/* Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A other is both. */
			out[o++] = TERMINAL_ESCAPE_CHAR;
			if (ch != TERMINAL_ESCAPE_CHAR)
				out[o++] = ch;
		} else if (ch == TERMINAL_ESCAPE_CHAR) {
			c->esc_pending = true;
		} else {
			out[o++] = ch;
		}
	}
	*out_n = o;
	return false;
}

int terminal_read(struct terminal *c, uint8_t *buf, size_t cap, size_t *n)
{
	uint8_t tmp[4096];
	ssize_t r;

	*n = 0;
	if (cap < 2)
		return -EINVAL;
	do
		r = read(c->in_fd, tmp, MIN(cap - 1, sizeof(tmp)));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return TERMINAL_EOF;
	return terminal_input(c, tmp, (size_t)r, buf, n) ? TERMINAL_QUIT : TERMINAL_DATA;
}

ssize_t terminal_write(struct terminal *c, const uint8_t *buf, size_t n)
{
	size_t done = 0;
	struct pollfd pfd;
	ssize_t r;

	if (__atomic_load_n(&c->out_closed, __ATOMIC_RELAXED))
		return -EPIPE;
	while (done < n) {
		r = write(c->out_fd, buf + done, n - done);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r == 0)
			return -EIO; /* write(2) never does this for n > 0 */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/*
			 * Someone made the (possibly shared) file description
			 * non-blocking: wait instead of spinning or dropping.
			 */
			pfd.fd = c->out_fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (errno == EPIPE)
			__atomic_store_n(&c->out_closed, true, __ATOMIC_RELAXED);
		return -errno;
	}
	return (ssize_t)n;
}

bool terminal_output_closed(const struct terminal *c)
{
	return __atomic_load_n(&c->out_closed, __ATOMIC_RELAXED);
}
