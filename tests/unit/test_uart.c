/*
 * test_uart.c - the 16550 UART (devices/uart/uart.c): the register
 * sequences Linux's 8250 driver runs (autoconfig probe, startup THRE/TXEN
 * tests), interrupt identification and the IRQ line, TX batching and
 * ordering, RX FIFO and backpressure.  Register accesses by hand; no KVM.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <linux/serial_reg.h>

#include "devices/uart/uart.h"
#include "tests/unit/tap.h"

struct fake {
	int level;
	int irq_calls;
	int rx_ready_calls;
	int tx_calls;
	size_t out_len;
	uint8_t out[1 << 17];
	int in_tx; /* ops->tx re-entered: must never happen */
	int tx_overlap;
	int slow_tx; /* sleep in tx to widen races */
};

static void f_set_irq(void *o, int level)
{
	struct fake *f = o;

	f->level = level;
	f->irq_calls++;
}

static void f_tx(void *o, const uint8_t *buf, size_t n)
{
	struct fake *f = o;

	if (__atomic_fetch_add(&f->in_tx, 1, __ATOMIC_SEQ_CST))
		f->tx_overlap++;
	if (f->slow_tx)
		usleep(50);
	if (f->out_len + n <= sizeof(f->out)) {
		memcpy(f->out + f->out_len, buf, n);
		f->out_len += n;
	}
	f->tx_calls++;
	__atomic_fetch_sub(&f->in_tx, 1, __ATOMIC_SEQ_CST);
}

static void f_rx_ready(void *o)
{
	struct fake *f = o;

	__atomic_fetch_add(&f->rx_ready_calls, 1, __ATOMIC_SEQ_CST);
}

static const struct uart_ops fops = {f_set_irq, f_tx, f_rx_ready};

static uint8_t rd(struct uart *u, unsigned int reg)
{
	uint8_t v = 0xee;

	uart_bus_ops.read(u, reg, &v, 1);
	return v;
}

static void wr(struct uart *u, unsigned int reg, uint8_t v)
{
	uart_bus_ops.write(u, reg, &v, 1);
}

static void setup(struct uart *u, struct fake *f)
{
	memset(f, 0, sizeof(*f));
	if (uart_init(u, &fops, f))
		diag("uart_init failed");
}

/*
 * Linux 6.1 drivers/tty/serial/8250/8250_port.c autoconfig() and
 * autoconfig_16550a(), re-expressed: the checks a UART must pass to be
 * called a 16550A.  Returns NULL on success or the name of what it
 * would have been taken for.
 */
static const char *linux_autoconfig(struct uart *u)
{
	uint8_t scratch, s2, s3, st1, st2, save_mcr, save_lcr, ier;
	int count, i;

	/* IER existence test. */
	scratch = rd(u, UART_IER);
	wr(u, UART_IER, 0);
	s2 = rd(u, UART_IER) & 0x0f;
	wr(u, UART_IER, 0x0f);
	s3 = rd(u, UART_IER) & 0x0f;
	wr(u, UART_IER, scratch);
	if (s2 != 0 || s3 != 0x0f)
		return "nothing (IER test)";
	save_mcr = rd(u, UART_MCR);
	save_lcr = rd(u, UART_LCR);
	/* Loopback test: MCR = LOOP|OUT2|RTS must show DCD|CTS. */
	wr(u, UART_MCR, UART_MCR_LOOP | 0x0a);
	st1 = rd(u, UART_MSR) & 0xf0;
	wr(u, UART_MCR, save_mcr);
	if (st1 != 0x90)
		return "nothing (loopback test)";
	/* EFR := 0 (LCR 0xbf, offset 2), then the FIFO bits of IIR. */
	wr(u, UART_LCR, 0xbf);
	wr(u, 2, 0);
	wr(u, UART_LCR, 0);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO);
	switch (rd(u, UART_IIR) >> 6) {
	case 0:
		return "8250/16450";
	case 1:
		return "unknown";
	case 2:
		return "16550";
	}
	/* autoconfig_16550a: an EFR would read 0 at offset 2 with LCR 0x80/0xbf. */
	wr(u, UART_LCR, 0x80);
	if (rd(u, 2) == 0)
		return "16650 (EFRv1)";
	wr(u, UART_LCR, 0xbf);
	if (rd(u, 2) == 0)
		return "16650V2 (EFRv2)";
	/* National Semiconductor SuperIO: EXCR1 at LCR 0xe0 mirrors MCR.LOOP. */
	wr(u, UART_LCR, 0);
	st1 = rd(u, UART_MCR);
	wr(u, UART_LCR, 0xe0);
	st2 = rd(u, 2);
	if (!((st2 ^ st1) & UART_MCR_LOOP)) {
		wr(u, UART_LCR, 0);
		wr(u, UART_MCR, st1 ^ UART_MCR_LOOP);
		wr(u, UART_LCR, 0xe0);
		st2 = rd(u, 2);
		wr(u, UART_LCR, 0);
		wr(u, UART_MCR, st1);
		if ((st2 ^ st1) & UART_MCR_LOOP)
			return "NS16550A";
	}
	/* TI16750: IIR bit 5 with the 64-byte FIFO bit, with DLAB set. */
	wr(u, UART_LCR, 0);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO | 0x20);
	st1 = rd(u, UART_IIR) >> 5;
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO);
	wr(u, UART_LCR, 0x80);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO | 0x20);
	st2 = rd(u, UART_IIR) >> 5;
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO);
	wr(u, UART_LCR, 0);
	if (st1 == 6 && st2 == 7)
		return "16750";
	/* XScale: IER bit 6 (UUE) writable. */
	ier = rd(u, UART_IER);
	wr(u, UART_IER, ier & ~0x40);
	if (!(rd(u, UART_IER) & 0x40)) {
		wr(u, UART_IER, ier | 0x40);
		if (rd(u, UART_IER) & 0x40)
			return "XScale";
	}
	wr(u, UART_IER, ier);
	/* size_fifo(): 256 bytes through loopback at divisor 1; 64 -> U6_16550A. */
	save_lcr = rd(u, UART_LCR);
	wr(u, UART_LCR, 0);
	st1 = rd(u, UART_FCR); /* really IIR, as in the driver */
	st2 = rd(u, UART_MCR);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
	wr(u, UART_MCR, UART_MCR_LOOP);
	wr(u, UART_LCR, 0x80);
	wr(u, UART_DLL, 1);
	wr(u, UART_DLM, 0);
	wr(u, UART_LCR, 0x03);
	for (i = 0; i < 256; i++)
		wr(u, UART_TX, (uint8_t)i);
	for (count = 0; (rd(u, UART_LSR) & UART_LSR_DR) && count < 256; count++)
		rd(u, UART_RX);
	wr(u, UART_FCR, st1);
	wr(u, UART_MCR, st2);
	wr(u, UART_LCR, save_lcr);
	if (count != 16) {
		diag("size_fifo counted %d", count);
		return count == 64 ? "U6_16550A" : "16550A with odd FIFO";
	}
	/* Back in autoconfig(): reset the UART. */
	wr(u, UART_LCR, save_lcr);
	wr(u, UART_MCR, save_mcr);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO);
	wr(u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
	wr(u, UART_FCR, 0);
	rd(u, UART_RX);
	wr(u, UART_IER, 0);
	return NULL;
}

static void test_reset_and_probe(void)
{
	struct uart u;
	struct fake f;
	const char *why;

	setup(&u, &f);
	is(rd(&u, UART_IIR), 0x01, "reset: IIR no interrupt, FIFOs off");
	is(rd(&u, UART_LSR), 0x60, "reset: LSR THRE|TEMT");
	is(rd(&u, UART_MSR), 0xb0, "reset: MSR DCD|DSR|CTS, no deltas");
	is(rd(&u, UART_IER), 0, "reset: IER 0");
	is(rd(&u, UART_MCR), 0, "reset: MCR 0");
	wr(&u, UART_SCR, 0xa5);
	is(rd(&u, UART_SCR), 0xa5, "scratch register holds 0xa5");
	wr(&u, UART_SCR, 0x5a);
	is(rd(&u, UART_SCR), 0x5a, "scratch register holds 0x5a");

	why = linux_autoconfig(&u);
	ok(why == NULL, "Linux autoconfig() detects a 16550A (%s)", why ? why : "ok");
	is(f.out_len, 0, "probe (incl. 256 loopback bytes) sent nothing to the host");
	is(f.irq_calls, 0, "probe never raised the IRQ line");
	is(rd(&u, UART_LSR) & UART_LSR_DR, 0, "probe left no data in the receiver");

	/* The FIFO-detect patterns by themselves. */
	wr(&u, UART_FCR, UART_FCR_ENABLE_FIFO);
	is(rd(&u, UART_IIR), 0xc1, "FIFO on, nothing pending: IIR 0xc1");
	wr(&u, UART_IER, UART_IER_THRI);
	is(rd(&u, UART_IIR), 0xc2, "FIFO on, THRE pending: IIR 0xc2");
	is(rd(&u, UART_IIR), 0xc1, "reading IIR acknowledged THRE");
	wr(&u, UART_IER, 0);
	wr(&u, UART_FCR, 0);
	is(rd(&u, UART_IIR), 0x01, "FIFO off: IIR bits 7:6 clear");
	uart_destroy(&u);
}

/* serial8250_do_startup(): THRE re-assertion and TXEN tests. */
static void test_linux_startup(void)
{
	struct uart u;
	struct fake f;
	uint8_t iir1, iir, lsr;

	setup(&u, &f);
	ok(rd(&u, UART_LSR) & UART_LSR_THRE, "wait_for_xmitr sees THRE");
	wr(&u, UART_IER, UART_IER_THRI);
	iir1 = rd(&u, UART_IIR);
	wr(&u, UART_IER, 0);
	wr(&u, UART_IER, UART_IER_THRI);
	iir = rd(&u, UART_IIR);
	wr(&u, UART_IER, 0);
	is(iir1 & UART_IIR_NO_INT, 0, "THRI enabled: THRE interrupt pending");
	is(iir, UART_IIR_THRI, "re-enabling THRI re-asserts THRE (no UART_BUG_THRE)");

	wr(&u, UART_LCR, UART_LCR_WLEN8);
	wr(&u, UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	wr(&u, UART_IER, UART_IER_THRI);
	lsr = rd(&u, UART_LSR);
	iir = rd(&u, UART_IIR);
	wr(&u, UART_IER, 0);
	ok(!((lsr & UART_LSR_TEMT) && (iir & UART_IIR_NO_INT)),
	   "TXEN test passes (no UART_BUG_TXEN)");
	is(f.level, 0, "line low after the tests");
	ok(f.irq_calls >= 2, "THRI with OUT2 pulsed the line (%d calls)", f.irq_calls);
	uart_destroy(&u);
}

static void test_dlab(void)
{
	struct uart u;
	struct fake f;

	setup(&u, &f);
	wr(&u, UART_IER, 0x05);
	wr(&u, UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	wr(&u, UART_DLL, 0x01);
	wr(&u, UART_DLM, 0x02);
	is(rd(&u, UART_DLL), 0x01, "DLL reads back with DLAB");
	is(rd(&u, UART_DLM), 0x02, "DLM reads back with DLAB");
	wr(&u, UART_LCR, UART_LCR_WLEN8);
	uart_flush(&u);
	is(f.out_len, 0, "DLL write did not transmit");
	is(rd(&u, UART_IER), 0x05, "DLM write did not touch IER");
	is(rd(&u, UART_LCR), UART_LCR_WLEN8, "LCR reads back");
	wr(&u, UART_IER, 0xff);
	is(rd(&u, UART_IER), 0x0f, "IER bits 7:4 read as zero");
	uart_destroy(&u);
}

static void test_tx(void)
{
	struct uart u;
	struct fake f;
	uint8_t b[2] = {0x03, 0x0b};
	int i, good;

	setup(&u, &f);
	wr(&u, UART_FCR, UART_FCR_ENABLE_FIFO);
	for (i = 0; i < 5; i++)
		wr(&u, UART_TX, "hello"[i]);
	is(f.tx_calls, 0, "a run of THR writes is batched");
	rd(&u, UART_IIR);
	is(f.tx_calls, 1, "IIR read flushed it in one ops->tx call");
	ok(f.out_len == 5 && !memcmp(f.out, "hello", 5), "bytes arrive in order");
	wr(&u, UART_TX, '!');
	rd(&u, UART_LSR);
	ok(f.out_len == 6 && f.out[5] == '!', "LSR read (polled console) flushes");
	wr(&u, UART_TX, '?');
	wr(&u, UART_IER, 0);
	ok(f.out_len == 7 && f.out[6] == '?', "IER write (stop_tx) flushes");

	f.out_len = 0;
	f.tx_calls = 0;
	for (i = 0; i < 200; i++)
		wr(&u, UART_TX, (uint8_t)i);
	is(f.out_len, 3 * UART_TX_BATCH, "full batches go out without another access");
	uart_flush(&u);
	is(f.out_len, 200, "uart_flush sends the rest");
	for (good = 1, i = 0; i < 200; i++)
		good &= f.out[i] == (uint8_t)i;
	ok(good, "200 bytes in order");
	uart_flush(&u);
	is(f.out_len, 200, "flush with nothing pending sends nothing");

	/* A 16-bit OUT at LCR is split into LCR and MCR. */
	uart_bus_ops.write(&u, UART_LCR, b, 2);
	is(rd(&u, UART_LCR), 0x03, "word write: low byte to LCR");
	is(rd(&u, UART_MCR), 0x0b, "word write: high byte to MCR");
	uart_destroy(&u);
}

static void test_irq_thre(void)
{
	struct uart u;
	struct fake f;
	int calls;

	setup(&u, &f);
	wr(&u, UART_MCR, UART_MCR_OUT2);
	is(f.level, 0, "IER 0: line low");
	wr(&u, UART_TX, 'a');
	is(f.level, 0, "THR write with ETBEI clear: no interrupt");
	wr(&u, UART_IER, UART_IER_THRI);
	is(f.level, 1, "ETBEI 0->1 with THR empty raises the line");
	is(rd(&u, UART_IIR), UART_IIR_THRI, "IIR reports THRE");
	is(f.level, 0, "reading IIR (THRE source) lowers the line");
	is(rd(&u, UART_IIR), UART_IIR_NO_INT, "and clears THRE");
	wr(&u, UART_IER, UART_IER_THRI);
	is(f.level, 0, "rewriting the same IER is not a rising edge");
	wr(&u, UART_TX, 'b');
	is(f.level, 1, "THR write: THR empties again, line up (new edge)");
	calls = f.irq_calls;
	wr(&u, UART_TX, 'c');
	is(f.irq_calls, calls, "line already high: set_irq not called again");
	wr(&u, UART_IER, 0);
	is(f.level, 0, "clearing ETBEI lowers the line");

	/* OUT2 gates the line; IIR still reports. */
	wr(&u, UART_MCR, 0);
	wr(&u, UART_IER, UART_IER_THRI);
	is(f.level, 0, "OUT2 clear: line stays low");
	wr(&u, UART_MCR, UART_MCR_OUT2);
	is(f.level, 1, "setting OUT2 lets the pending THRE through");
	wr(&u, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	is(f.level, 0, "loopback disconnects the line");
	wr(&u, UART_MCR, UART_MCR_OUT2);
	rd(&u, UART_IIR);
	is(f.level, 0, "ack");
	uart_flush(&u);
	ok(f.out_len == 3 && !memcmp(f.out, "abc", 3), "TX bytes a, b, c delivered");
	uart_destroy(&u);
}

static void test_rx(void)
{
	struct uart u;
	struct fake f;
	uint8_t buf[UART_RX_BUF_SIZE + 10];
	size_t i;
	int good;

	setup(&u, &f);
	wr(&u, UART_MCR, UART_MCR_OUT2);
	wr(&u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_R_TRIG_10); /* trigger 8 */
	is(uart_rx_space(&u), 0, "RX interrupt disabled: no input accepted");
	is(uart_rx_push(&u, (const uint8_t *)"abc", 3), 0, "push refused");
	is(f.rx_ready_calls, 0, "no rx_ready yet");
	wr(&u, UART_IER, UART_IER_RDI);
	is(f.rx_ready_calls, 1, "enabling ERBFI tells the host input is welcome");
	is(uart_rx_space(&u), UART_RX_BUF_SIZE, "whole ring free");
	is(f.level, 0, "no data: line low");
	is(uart_rx_push(&u, (const uint8_t *)"abc", 3), 3, "push accepted");
	is(rd(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR, "LSR.DR set");
	is(f.level, 1, "received data raises the line");
	is(rd(&u, UART_IIR), 0xcc, "3 < trigger 8: character timeout (0xcc)");
	is(uart_rx_push(&u, (const uint8_t *)"defghij", 7), 7, "push 7 more");
	is(rd(&u, UART_IIR), 0xc4, "10 >= trigger 8: received data available (0xc4)");
	for (i = 0; i < 10; i++)
		buf[i] = rd(&u, UART_RX);
	ok(!memcmp(buf, "abcdefghij", 10), "bytes read in order");
	is(rd(&u, UART_LSR) & UART_LSR_DR, 0, "drained: DR clear");
	is(rd(&u, UART_IIR), 0xc1, "drained: no interrupt");
	is(f.level, 0, "drained: line low");
	is(rd(&u, UART_RX), 'j', "empty RBR reads the last byte again");

	/* Priority: RX data above THRE; reading IIR does not clear THRE. */
	wr(&u, UART_IER, UART_IER_RDI | UART_IER_THRI);
	uart_rx_push(&u, (const uint8_t *)"x", 1);
	is(rd(&u, UART_IIR), 0xcc, "RX data outranks THRE");
	is(rd(&u, UART_RX), 'x', "read x");
	is(rd(&u, UART_IIR), 0xc2, "then THRE, still pending");
	is(rd(&u, UART_IIR), 0xc1, "then nothing");

	/* Line status outranks everything; overrun via loopback. */
	wr(&u, UART_IER, UART_IER_RDI | UART_IER_RLSI | UART_IER_THRI | UART_IER_MSI);
	wr(&u, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	rd(&u, UART_MSR);
	rd(&u, UART_IIR);
	for (i = 0; i < 17; i++)
		wr(&u, UART_TX, (uint8_t)('A' + i));
	is(rd(&u, UART_IIR), 0xc6, "overrun: line status interrupt first");
	is(rd(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT | UART_LSR_OE | UART_LSR_DR,
	   "LSR shows OE and DR");
	is(rd(&u, UART_LSR) & UART_LSR_OE, 0, "reading LSR cleared OE");
	is(rd(&u, UART_IIR), 0xc4, "then received data (16 >= 8)");
	for (i = 0; i < 16; i++)
		buf[i] = rd(&u, UART_RX);
	ok(buf[0] == 'A' && buf[15] == 'P', "loopback returned the first 16 bytes");
	is(rd(&u, UART_IIR), 0xc2, "then THRE");
	uart_flush(&u);
	is(f.out_len, 0, "loopback bytes never reached the host");

	/* Modem status: loopback MCR changes set delta bits. */
	wr(&u, UART_IER, UART_IER_MSI);
	rd(&u, UART_MSR);
	wr(&u, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	is(rd(&u, UART_IIR), 0xc0, "modem status interrupt (0xc0)");
	is(rd(&u, UART_MSR), UART_MSR_DSR | UART_MSR_RI | UART_MSR_DCD | UART_MSR_DDSR,
	   "MSR: DTR->DSR, OUT1->RI, OUT2->DCD, DDSR");
	wr(&u, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	is(rd(&u, UART_MSR), UART_MSR_DCD | UART_MSR_DDSR | UART_MSR_TERI,
	   "RI falling edge sets TERI");
	is(rd(&u, UART_IIR), 0xc1, "MSR read cleared the deltas");
	wr(&u, UART_MCR, UART_MCR_OUT2);
	wr(&u, UART_IER, UART_IER_RDI);

	/* FCR clear drops the hardware FIFO only. */
	for (i = 0; i < 20; i++)
		buf[i] = (uint8_t)i;
	is(uart_rx_push(&u, buf, 20), 20, "push 20");
	wr(&u, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	is(rd(&u, UART_RX), 16, "clear RX dropped the 16 FIFO bytes, backlog kept");
	while (rd(&u, UART_LSR) & UART_LSR_DR)
		rd(&u, UART_RX);

	/* FIFOs off (16450 mode): one byte at a time, no trigger level. */
	wr(&u, UART_FCR, 0);
	uart_rx_push(&u, (const uint8_t *)"12", 2);
	is(rd(&u, UART_IIR), 0x04, "FIFO off: IIR 0x04");
	is(rd(&u, UART_RX), '1', "first byte");
	is(rd(&u, UART_RX), '2', "second byte follows from the backlog");

	/* Backpressure. */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	f.rx_ready_calls = 0;
	is(uart_rx_push(&u, buf, sizeof(buf)), UART_RX_BUF_SIZE, "ring takes 4 KiB");
	is(uart_rx_space(&u), 0, "ring full");
	is(uart_rx_push(&u, buf, 1), 0, "full: refused");
	is(f.rx_ready_calls, 0, "no rx_ready while full");
	good = rd(&u, UART_RX) == buf[0];
	is(f.rx_ready_calls, 1, "guest read made room: rx_ready once");
	rd(&u, UART_LSR);
	is(f.rx_ready_calls, 1, "not repeated without another refusal");
	is(uart_rx_push(&u, buf + UART_RX_BUF_SIZE, 10), 1, "one byte of room");
	for (i = 1; i <= UART_RX_BUF_SIZE; i++)
		good &= rd(&u, UART_RX) == buf[i];
	ok(good, "4 KiB + 1 bytes read back in order across the ring wrap");
	is(rd(&u, UART_LSR) & UART_LSR_DR, 0, "empty again");
	uart_destroy(&u);
}

/* Two vCPU threads writing THR while another thread flushes. */
struct writer {
	struct uart *u;
	uint8_t tag;
	int n;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	int i;

	for (i = 0; i < w->n; i++) {
		wr(w->u, UART_TX, (uint8_t)(w->tag | (i & 0x7f)));
		if (i % 37 == 0)
			rd(w->u, UART_LSR);
	}
	return NULL;
}

static void test_threads(void)
{
	static struct fake f;
	struct uart u;
	struct writer w[2];
	pthread_t t[2];
	int i, next[2] = {0, 0}, good = 1, n = 20000;
	size_t k;

	memset(&f, 0, sizeof(f));
	uart_init(&u, &fops, &f);
	f.slow_tx = 1;
	for (i = 0; i < 2; i++) {
		w[i] = (struct writer){&u, (uint8_t)(i ? 0x80 : 0), n};
		pthread_create(&t[i], NULL, writer_main, &w[i]);
	}
	for (i = 0; i < 200; i++)
		uart_flush(&u);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	uart_flush(&u);
	is(f.out_len, 2 * (size_t)n, "every byte from both writers arrived");
	is(f.tx_overlap, 0, "ops->tx never ran concurrently with itself");
	for (k = 0; k < f.out_len; k++) {
		int who = f.out[k] >> 7;

		good &= (f.out[k] & 0x7f) == (next[who] & 0x7f);
		next[who]++;
	}
	ok(good, "each writer's bytes in its own order");
	uart_destroy(&u);
}

int main(void)
{
	test_reset_and_probe();
	test_linux_startup();
	test_dlab();
	test_tx();
	test_irq_thre();
	test_rx();
	test_threads();
	return done_testing();
}
