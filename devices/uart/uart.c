/*
 * uart.c - the 16550A register file; see uart.h for the model and the
 * threading rules.  Register semantics follow the PC16550D datasheet
 * ("Register Description" tables); Linux's 8250_port.c is the guest we must
 * satisfy, and the comments say which of its probes relies on what.
 */
#include <errno.h>
#include <string.h>

#include <linux/serial_reg.h>

#include "devices/uart/uart.h"
#include "lib/util.h"

/* IIR bits 7:6 read 11 while the FIFOs are enabled (not in the UAPI header). */
#define UART_IIR_FIFO_BITS 0xc0
/*
 * A 16550A implements IER bits 3:0 only; bits 7:4 read 0.  Linux's
 * autoconfig() writes 0x0f and expects it back, and autoconfig_16550a()
 * would take a writable bit 6 (UUE) for an XScale UART.
 */
#define UART_IER_BITS 0x0f
/* MCR bits 7:5 read 0 (bit 5 would be a 16750's auto flow control). */
#define UART_MCR_BITS 0x1f
/* FCR bits the chip keeps: FIFO enable, DMA mode, RX trigger level. */
#define UART_FCR_BITS 0xc9
#define UART_LSR_ERR_BITS UART_LSR_BRK_ERROR_BITS

_Static_assert((UART_RX_BUF_SIZE & (UART_RX_BUF_SIZE - 1)) == 0,
	       "UART_RX_BUF_SIZE must be a power of two");
_Static_assert(UART_RX_BUF_SIZE >= UART_FIFO_SIZE, "ring smaller than the FIFO");

/* RX trigger levels of FCR bits 7:6 (PC16550D table IV). */
static const uint8_t uart_rx_trigger[4] = {1, 4, 8, 14};

static bool uart_fifo_on(const struct uart *u)
{
	return u->fcr & UART_FCR_ENABLE_FIFO;
}

/* Depth of the receiver the guest sees: the FIFO, or the 16450-mode RBR. */
static size_t uart_fifo_depth(const struct uart *u)
{
	return uart_fifo_on(u) ? UART_FIFO_SIZE : 1;
}

static bool uart_loop(const struct uart *u)
{
	return u->mcr & UART_MCR_LOOP;
}

/*
 * The modem-status inputs.  In loopback the outputs drive them internally
 * (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD); Linux's autoconfig() writes
 * MCR = LOOP|OUT2|RTS and expects MSR[7:4] = DCD|CTS = 0x90.  Otherwise a
 * present, ready peer: DCD, DSR and CTS asserted, no ring.
 */
static uint8_t uart_msr_inputs(uint8_t mcr)
{
	uint8_t v = 0;

	if (!(mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	if (mcr & UART_MCR_DTR)
		v |= UART_MSR_DSR;
	if (mcr & UART_MCR_RTS)
		v |= UART_MSR_CTS;
	if (mcr & UART_MCR_OUT1)
		v |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2)
		v |= UART_MSR_DCD;
	return v;
}

static size_t uart_rx_space_locked(const struct uart *u)
{
	/*
	 * Hold input on the host while the guest cannot take it (see uart.h):
	 * with ERBFI clear nobody reads RBR, and in loopback the serial
	 * input pin is disconnected.
	 */
	if (!(u->ier & UART_IER_RDI) || uart_loop(u))
		return 0;
	return UART_RX_BUF_SIZE - u->rx_count;
}

static void uart_rx_put_locked(struct uart *u, const uint8_t *buf, size_t n)
{
	size_t tail = (u->rx_head + u->rx_count) & (UART_RX_BUF_SIZE - 1);
	size_t first = MIN(n, UART_RX_BUF_SIZE - tail);

	memcpy(&u->rx_buf[tail], buf, first);
	memcpy(u->rx_buf, buf + first, n - first);
	u->rx_count += n;
}

static void uart_rx_drop_locked(struct uart *u, size_t n)
{
	u->rx_head = (u->rx_head + n) & (UART_RX_BUF_SIZE - 1);
	u->rx_count -= n;
}

/* The interrupt identification (IIR bits 3:0), by priority (PC16550D table V). */
static uint8_t uart_iir_id(const struct uart *u)
{
	if ((u->ier & UART_IER_RLSI) && (u->lsr_err & UART_LSR_ERR_BITS))
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count) {
		size_t level = uart_rx_trigger[u->fcr >> 6];

		if (uart_fifo_on(u) && MIN(u->rx_count, UART_FIFO_SIZE) < level)
			return UART_IIR_RX_TIMEOUT;
		return UART_IIR_RDI;
	}
	if ((u->ier & UART_IER_THRI) && u->thr_ipending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && (u->msr_delta & UART_MSR_ANY_DELTA))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void uart_update_irq_locked(struct uart *u)
{
	/* PC/AT wiring: INTR reaches the bus through OUT2, inactive in loopback. */
	bool level = uart_iir_id(u) != UART_IIR_NO_INT &&
		     (u->mcr & (UART_MCR_OUT2 | UART_MCR_LOOP)) == UART_MCR_OUT2;

	if (level != u->irq_level) {
		u->irq_level = level;
		u->ops->set_irq(u->opaque, level);
	}
}

/*
 * Hand the TX batch to ops->tx.  Called and returns with u->lock held, but
 * drops it around ops->tx so input and other registers are not stuck
 * behind a slow terminal.  Only one thread is ever inside ops->tx
 * (tx_busy); it loops until the batch is empty, so bytes appended by
 * others meanwhile go out after its own, in order.
 */
static void uart_tx_drain_locked(struct uart *u)
{
	uint8_t chunk[UART_TX_BATCH];
	size_t n;

	if (u->tx_busy)
		return;
	u->tx_busy = true;
	while (u->tx_len) {
		n = u->tx_len;
		memcpy(chunk, u->tx_buf, n);
		u->tx_len = 0;
		pthread_cond_broadcast(&u->tx_cond);
		pthread_mutex_unlock(&u->lock);
		u->ops->tx(u->opaque, chunk, n);
		pthread_mutex_lock(&u->lock);
	}
	u->tx_busy = false;
	pthread_cond_broadcast(&u->tx_cond);
}

/* Make room for one byte in the TX batch (may drop and retake the lock). */
static void uart_tx_reserve_locked(struct uart *u)
{
	while (u->tx_len == UART_TX_BATCH) {
		if (u->tx_busy)
			pthread_cond_wait(&u->tx_cond, &u->lock);
		else
			uart_tx_drain_locked(u);
	}
}

static void uart_thr_write_locked(struct uart *u, uint8_t v)
{
	if (uart_loop(u)) {
		/*
		 * Loopback: the byte comes back through the 16-byte receiver;
		 * beyond that it is an overrun.  Linux's size_fifo() counts
		 * the bytes that survive 256 writes and must find 16, not 64.
		 */
		if (u->rx_count < uart_fifo_depth(u))
			uart_rx_put_locked(u, &v, 1);
		else
			u->lsr_err |= UART_LSR_OE;
	} else {
		u->tx_buf[u->tx_len++] = v;
	}
	/* Transmission is instant: THR is empty again at once. */
	u->thr_ipending = true;
}

static void uart_ier_write_locked(struct uart *u, uint8_t v)
{
	uint8_t changed = (u->ier ^ v) & UART_IER_THRI;

	u->ier = v & UART_IER_BITS;
	/*
	 * Setting ETBEI while THR is empty (always, here) raises a THRE
	 * interrupt even if an earlier one was cleared by an IIR read.  Real
	 * 16550s do it; Linux's serial8250_do_startup() checks it (else it
	 * sets UART_BUG_THRE and polls with a timer) and __start_tx() relies
	 * on it to start every transmission.  Rising edge only, as QEMU and
	 * Bochs do.
	 */
	if (changed)
		u->thr_ipending = u->ier & UART_IER_THRI;
}

static void uart_fcr_write_locked(struct uart *u, uint8_t v)
{
	bool was_on = uart_fifo_on(u), on = v & UART_FCR_ENABLE_FIFO;
	size_t depth = uart_fifo_depth(u);

	/*
	 * Changing FCR bit 0 resets both FIFOs; the other bits are only
	 * programmed while bit 0 is set.  A cleared receiver loses what the
	 * guest could see (at most one FIFO), not the host's backlog.  The TX
	 * side has nothing to clear: bytes in the batch are already sent.
	 */
	if (was_on != on || (on && (v & UART_FCR_CLEAR_RCVR)))
		uart_rx_drop_locked(u, MIN(u->rx_count, depth));
	u->fcr = on ? (v & UART_FCR_BITS) : 0;
}

static void uart_mcr_write_locked(struct uart *u, uint8_t v)
{
	uint8_t old = uart_msr_inputs(u->mcr), now;

	u->mcr = v & UART_MCR_BITS;
	now = uart_msr_inputs(u->mcr);
	if ((old ^ now) & UART_MSR_CTS)
		u->msr_delta |= UART_MSR_DCTS;
	if ((old ^ now) & UART_MSR_DSR)
		u->msr_delta |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI))
		u->msr_delta |= UART_MSR_TERI;
	if ((old ^ now) & UART_MSR_DCD)
		u->msr_delta |= UART_MSR_DDCD;
}

/* One byte register write; returns true when it was a THR write. */
static bool uart_reg_write_locked(struct uart *u, unsigned int reg, uint8_t v)
{
	bool dlab;

	/* Before looking at the state: making room may drop the lock. */
	if (reg == UART_TX && !(u->lcr & UART_LCR_DLAB) && !uart_loop(u))
		uart_tx_reserve_locked(u);
	dlab = u->lcr & UART_LCR_DLAB;
	switch (reg) {
	case UART_TX: /* == UART_DLL */
		if (dlab) {
			u->dll = v;
			return false;
		}
		uart_thr_write_locked(u, v);
		return true;
	case UART_IER: /* == UART_DLM */
		if (dlab)
			u->dlm = v;
		else
			uart_ier_write_locked(u, v);
		break;
	case UART_FCR:
		uart_fcr_write_locked(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		uart_mcr_write_locked(u, v);
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:
		/* LSR and MSR writes are factory-test only: ignored. */
		break;
	}
	return false;
}

static uint8_t uart_reg_read_locked(struct uart *u, unsigned int reg)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX: /* == UART_DLL */
		if (dlab)
			return u->dll;
		if (u->rx_count) {
			u->rbr_last = u->rx_buf[u->rx_head];
			uart_rx_drop_locked(u, 1);
		}
		return u->rbr_last;
	case UART_IER: /* == UART_DLM */
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		v = uart_iir_id(u);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if (v == UART_IIR_THRI)
			u->thr_ipending = false;
		return v | (uart_fifo_on(u) ? UART_IIR_FIFO_BITS : 0);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = u->lsr_err | UART_LSR_THRE | UART_LSR_TEMT;
		if (u->rx_count)
			v |= UART_LSR_DR;
		u->lsr_err = 0;
		return v;
	case UART_MSR:
		v = uart_msr_inputs(u->mcr) | u->msr_delta;
		u->msr_delta = 0;
		return v;
	case UART_SCR:
		return u->scr;
	}
	return 0;
}

/*
 * Common tail of a guest access: settle the IRQ line, send the TX batch
 * unless the guest is in the middle of a run of THR writes, and decide
 * whether the event loop must be told that input is welcome again.
 */
static bool uart_access_end_locked(struct uart *u, bool thr_run)
{
	bool notify;

	uart_update_irq_locked(u);
	if (!thr_run || u->tx_len == UART_TX_BATCH)
		uart_tx_drain_locked(u);
	notify = u->rx_blocked && uart_rx_space_locked(u) > 0;
	if (notify)
		u->rx_blocked = false;
	return notify;
}

static void uart_bus_read(void *opaque, uint64_t off, void *data, uint32_t n)
{
	struct uart *u = opaque;
	uint8_t *d = data;
	bool notify;
	uint32_t i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < n; i++)
		d[i] = off + i < UART_NR_PORTS ? uart_reg_read_locked(u, off + i) : 0;
	notify = uart_access_end_locked(u, false);
	pthread_mutex_unlock(&u->lock);
	if (notify && u->ops->rx_ready)
		u->ops->rx_ready(u->opaque);
}

static void uart_bus_write(void *opaque, uint64_t off, const void *data, uint32_t n)
{
	struct uart *u = opaque;
	const uint8_t *d = data;
	bool thr_run = true, notify;
	uint32_t i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < n && off + i < UART_NR_PORTS; i++)
		if (!uart_reg_write_locked(u, off + i, d[i]))
			thr_run = false;
	notify = uart_access_end_locked(u, thr_run);
	pthread_mutex_unlock(&u->lock);
	if (notify && u->ops->rx_ready)
		u->ops->rx_ready(u->opaque);
}

const struct bus_ops uart_bus_ops = {
	.read = uart_bus_read,
	.write = uart_bus_write,
};

int uart_init(struct uart *u, const struct uart_ops *ops, void *opaque)
{
	int ret;

	if (!ops || !ops->set_irq || !ops->tx)
		return -EINVAL;
	memset(u, 0, sizeof(*u));
	ret = pthread_mutex_init(&u->lock, NULL);
	if (ret)
		return -ret;
	ret = pthread_cond_init(&u->tx_cond, NULL);
	if (ret) {
		pthread_mutex_destroy(&u->lock);
		return -ret;
	}
	u->ops = ops;
	u->opaque = opaque;
	u->dll = 12; /* 115200 / 12 = 9600 baud; firmware would leave something */
	return 0;
}

void uart_destroy(struct uart *u)
{
	pthread_cond_destroy(&u->tx_cond);
	pthread_mutex_destroy(&u->lock);
}

size_t uart_rx_push(struct uart *u, const uint8_t *buf, size_t n)
{
	size_t k;

	pthread_mutex_lock(&u->lock);
	k = MIN(n, uart_rx_space_locked(u));
	if (k)
		uart_rx_put_locked(u, buf, k);
	if (k < n)
		u->rx_blocked = true;
	uart_update_irq_locked(u);
	pthread_mutex_unlock(&u->lock);
	return k;
}

size_t uart_rx_space(struct uart *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = uart_rx_space_locked(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

void uart_flush(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	/* A flush in progress ends with an empty batch, our bytes included. */
	while (u->tx_busy)
		pthread_cond_wait(&u->tx_cond, &u->lock);
	uart_tx_drain_locked(u);
	pthread_mutex_unlock(&u->lock);
}

void uart_save(struct uart *u, struct uart_state *s)
{
	pthread_mutex_lock(&u->lock);
	memset(s, 0, sizeof(*s));
	s->ier = u->ier;
	s->lcr = u->lcr;
	s->mcr = u->mcr;
	s->fcr = u->fcr;
	s->scr = u->scr;
	s->dll = u->dll;
	s->dlm = u->dlm;
	s->lsr_err = u->lsr_err;
	s->msr_delta = u->msr_delta;
	s->rbr_last = u->rbr_last;
	s->thr_ipending = u->thr_ipending;
	s->irq_level = u->irq_level;
	pthread_mutex_unlock(&u->lock);
}

void uart_restore(struct uart *u, const struct uart_state *s)
{
	pthread_mutex_lock(&u->lock);
	u->ier = s->ier;
	u->lcr = s->lcr;
	u->mcr = s->mcr;
	u->fcr = s->fcr;
	u->scr = s->scr;
	u->dll = s->dll;
	u->dlm = s->dlm;
	u->lsr_err = s->lsr_err;
	u->msr_delta = s->msr_delta;
	u->rbr_last = s->rbr_last;
	u->thr_ipending = s->thr_ipending != 0;
	u->irq_level = s->irq_level != 0;
	u->rx_head = u->rx_count = 0;
	u->tx_len = 0;
	pthread_mutex_unlock(&u->lock);
}
