/*
 * test_terminal.c - vmm/terminal.c: the Ctrl-A escape filter, pass-through on
 * pipes, complete writes (short, EAGAIN, EPIPE), and the terminal being
 * given back on close, exit() and fatal signals (checked on a pty).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "vmm/terminal.h"

static int open_pty(int *master, int *slave)
{
	char name[128];
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0)
		return -errno;
	if (grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name))) {
		close(m);
		return -errno;
	}
	s = open(name, O_RDWR | O_NOCTTY);
	if (s < 0) {
		close(m);
		return -errno;
	}
	*master = m;
	*slave = s;
	return 0;
}

static int get_tio(int fd, struct termios *t)
{
	memset(t, 0, sizeof(*t)); /* padding too, so memcmp is meaningful */
	return tcgetattr(fd, t);
}

static bool same_tio(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && !memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) &&
	       cfgetispeed(a) == cfgetispeed(b) && cfgetospeed(a) == cfgetospeed(b);
}

#define IN(s) (const uint8_t *)(s), sizeof(s) - 1

static void test_escape(int slave)
{
	struct terminal c;
	uint8_t out[64];
	size_t n;
	bool q;

	is(terminal_open(&c, slave, slave, TERMINAL_NO_RAW), 0, "open on a tty (no raw)");
	q = terminal_input(&c, IN("ab\x01xcd"), out, &n);
	ok(q, "Ctrl-A x requests quit");
	ok(n == 2 && !memcmp(out, "ab", 2), "bytes before Ctrl-A x still delivered");

	q = terminal_input(&c, IN("\x01\x01z"), out, &n);
	ok(!q && n == 2 && out[0] == 0x01 && out[1] == 'z', "Ctrl-A Ctrl-A sends one Ctrl-A");

	q = terminal_input(&c, IN("\x01qr"), out, &n);
	ok(!q && n == 3 && !memcmp(out, "\x01qr", 3), "Ctrl-A other passes both through");

	q = terminal_input(&c, IN("ls\x01"), out, &n);
	ok(!q && n == 2 && !memcmp(out, "ls", 2), "trailing Ctrl-A held back");
	q = terminal_input(&c, IN("x"), out, &n);
	ok(q && n == 0, "Ctrl-A | x split across calls still quits");

	terminal_input(&c, IN("\x01"), out, &n);
	q = terminal_input(&c, IN("\x01"), out, &n);
	ok(!q && n == 1 && out[0] == 0x01, "Ctrl-A | Ctrl-A split: one Ctrl-A");

	terminal_input(&c, IN("\x01"), out, &n);
	is(n, 0, "lone Ctrl-A: nothing yet");
	q = terminal_input(&c, IN("b"), out, &n);
	ok(!q && n == 2 && !memcmp(out, "\001b", 2), "Ctrl-A | b split: n + 1 bytes out");

	q = terminal_input(&c, IN("x"), out, &n);
	ok(!q && n == 1 && out[0] == 'x', "plain x is just x");
	terminal_close(&c);

	is(terminal_open(&c, slave, slave, TERMINAL_NO_RAW | TERMINAL_NO_ESCAPE), 0,
	   "open with TERMINAL_NO_ESCAPE");
	q = terminal_input(&c, IN("\x01x"), out, &n);
	ok(!q && n == 2, "escape disabled: Ctrl-A x passes through");
	terminal_close(&c);
}

static void test_pipe_input(void)
{
	struct terminal c;
	uint8_t buf[64];
	size_t n;
	int p[2], r;
	bool q;

	if (pipe(p)) {
		ok(0, "pipe");
		return;
	}
	is(terminal_open(&c, p[0], STDOUT_FILENO, 0), 0, "open on a pipe");
	q = terminal_input(&c, IN("a\x01x\x01\x01"), buf, &n);
	ok(!q && n == 5 && !memcmp(buf, "a\x01x\x01\x01", 5), "pipe: bytes unchanged, no escape");
	r = (int)write(p[1], "hi\x01x", 4);
	r = terminal_read(&c, buf, sizeof(buf), &n);
	ok(r == TERMINAL_DATA && n == 4 && !memcmp(buf, "hi\x01x", 4), "terminal_read: data");
	close(p[1]);
	r = terminal_read(&c, buf, sizeof(buf), &n);
	ok(r == TERMINAL_EOF && n == 0, "terminal_read: EOF reported");
	terminal_close(&c);
	close(p[0]);
}

struct reader {
	int fd;
	size_t want, got;
	int mismatch;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	uint8_t buf[3000];
	ssize_t r, i;

	while (rd->got < rd->want) {
		r = read(rd->fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		for (i = 0; i < r; i++)
			if (buf[i] != (uint8_t)((rd->got + i) * 13))
				rd->mismatch++;
		rd->got += r;
		usleep(100); /* slow reader: the writer sees a full pipe */
	}
	return NULL;
}

static void test_write(void)
{
	struct terminal c;
	struct reader rd;
	pthread_t t;
	size_t len = 1 << 20, i;
	uint8_t *data = malloc(len);
	int p[2];
	ssize_t r;

	if (!data || pipe(p)) {
		ok(0, "setup");
		return;
	}
	for (i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 13);
	/* Non-blocking write end: exercises the EAGAIN/poll path. */
	fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
	is(terminal_open(&c, p[0], p[1], 0), 0, "open with a pipe as output");
	rd = (struct reader){.fd = p[0], .want = len};
	pthread_create(&t, NULL, reader_main, &rd);
	r = terminal_write(&c, data, len);
	pthread_join(t, NULL);
	is(r, (ssize_t)len, "1 MiB written to a slow reader through a non-blocking pipe");
	is(rd.got, len, "reader got every byte");
	is(rd.mismatch, 0, "in order, unchanged");

	close(p[0]);
	r = terminal_write(&c, data, 10);
	is(r, -EPIPE, "reader gone: -EPIPE (and no SIGPIPE death)");
	ok(terminal_output_closed(&c), "output marked closed");
	is(terminal_write(&c, data, 10), -EPIPE, "later writes dropped");
	terminal_close(&c);
	close(p[1]);
	free(data);
}

static void test_raw_restore(int master, int slave)
{
	struct terminal c, c2;
	struct termios before, during, after;
	uint8_t buf[16];
	size_t n;
	int r;

	get_tio(slave, &before);
	ok(before.c_lflag & ICANON, "pty starts in canonical mode");
	is(terminal_open(&c, slave, slave, 0), 0, "open on a pty");
	get_tio(slave, &during);
	ok(!(during.c_lflag & (ICANON | ECHO | ISIG | IEXTEN)), "raw: no ICANON/ECHO/ISIG/IEXTEN");
	ok(!(during.c_iflag & (ICRNL | IXON)), "raw: no ICRNL/IXON");
	is(during.c_oflag, before.c_oflag, "output processing unchanged");
	is(terminal_open(&c2, slave, slave, 0), -EBUSY, "second raw console refused");

	/* Ctrl-C arrives as a byte (ISIG off), the escape works on a tty. */
	r = (int)write(master, "\003ab\001x", 5);
	r = terminal_read(&c, buf, sizeof(buf), &n);
	ok(r == TERMINAL_QUIT && n == 3 && !memcmp(buf, "\003ab", 3),
	   "pty input: Ctrl-C is data, Ctrl-A x quits");

	terminal_close(&c);
	get_tio(slave, &after);
	ok(same_tio(&before, &after), "termios after terminal_close equals before");
	ok(!memcmp(&before, &after, sizeof(before)), "byte for byte");
	terminal_close(&c);
	get_tio(slave, &after);
	ok(same_tio(&before, &after), "second close is harmless");
}

static void vmm_term_handler(int sig)
{
	(void)sig;
	_exit(42);
}

/*
 * Child: make the pty raw, then die by sig (0: call exit(), -1: a handler
 * installed before terminal_open exits with 42).  Parent: the pty's
 * termios must be back to what it was.
 */
static void run_child(int slave, int sig, const char *what)
{
	struct termios before, after;
	struct terminal c;
	int status = 0, devnull;
	pid_t pid;

	get_tio(slave, &before);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = {0, 0};
		struct termios t;

		setrlimit(RLIMIT_CORE, &rl);
		devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDERR_FILENO); /* quiet sanitizer reports */
		if (sig == -1)
			signal(SIGTERM, vmm_term_handler);
		else if (sig > 0)
			signal(sig, SIG_DFL); /* not inherited as ignored (nohup) */
		if (terminal_open(&c, slave, slave, 0))
			_exit(2);
		if (tcgetattr(slave, &t) || (t.c_lflag & ICANON))
			_exit(2);
		if (sig == 0)
			exit(7);
		raise(sig == -1 ? SIGTERM : sig);
		_exit(3);
	}
	waitpid(pid, &status, 0);
	get_tio(slave, &after);
	if (sig == 0)
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 7, "%s: child exited (%#x)", what,
		   status);
	else if (sig == -1)
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 42,
		   "%s: earlier handler was chained (%#x)", what, status);
	else
		/* Under ASan a chained SEGV/BUS handler exits(1) instead. */
		ok((WIFSIGNALED(status) && WTERMSIG(status) == sig) ||
			   (WIFEXITED(status) && WEXITSTATUS(status) != 2 &&
			    WEXITSTATUS(status) != 3),
		   "%s: child died of it (%#x)", what, status);
	ok(same_tio(&before, &after), "%s: termios restored", what);
}

int main(void)
{
	int master = -1, slave = -1, r;

	test_pipe_input();
	test_write();
	r = open_pty(&master, &slave);
	if (r) {
		diag("no pty (%s): skipping the terminal tests", strerror(-r));
		return done_testing();
	}
	test_escape(slave);
	test_raw_restore(master, slave);
	run_child(slave, 0, "exit()");
	run_child(slave, -1, "SIGTERM with a VMM handler");
	run_child(slave, SIGTERM, "SIGTERM");
	run_child(slave, SIGINT, "SIGINT");
	run_child(slave, SIGHUP, "SIGHUP");
	run_child(slave, SIGQUIT, "SIGQUIT");
	run_child(slave, SIGSEGV, "SIGSEGV");
	run_child(slave, SIGBUS, "SIGBUS");
	run_child(slave, SIGABRT, "SIGABRT");
	close(slave);
	close(master);
	return done_testing();
}
