/*
 * uart.h - a 16550A UART (the PC's COM1) as seen by the guest's 8250 driver.
 *
 * The device is a register file on the port-I/O bus (8 ports) plus two
 * byte streams: guest output goes to the host through ops->tx, host input is
 * pushed with uart_rx_push().  It has no thread or timer of its own: every
 * state change happens inside a guest register access (vCPU thread) or a
 * uart_rx_push()/uart_flush() call (event-loop thread); one mutex inside
 * serialises them, so the two sides may run concurrently.
 *
 * What is modelled (PC16550D datasheet, "Register Description"): RBR/THR,
 * IER (4 bits), IIR with the FIFO bits 7:6, FCR (FIFO enable, clears, RX
 * trigger level), LCR and the DLAB-selected divisor latch (stored, but the
 * line runs at host speed: transmission is instant, so LSR.THRE and TEMT
 * are always set), MCR with loopback (TX looped into a 16-byte RX FIFO,
 * DTR/RTS/OUT1/OUT2 mapped to DSR/CTS/RI/DCD), LSR (DR, OE, THRE, TEMT),
 * MSR (DCD|DSR|CTS asserted outside loopback, delta bits), SCR.  Linux's
 * autoconfig() identifies it as a 16550A (see tests/unit/test_uart.c).
 *
 * Interrupts: IIR reports the highest-priority pending source (line status
 * > received data > THR empty > modem status).  "THR empty" becomes pending
 * when the transmitter empties (right after every THR write) and when IER's
 * ETBEI bit goes 0->1 while THR is empty; reading IIR while it is the
 * reported source, or writing THR, clears it.  Received data below the FIFO
 * trigger level is reported at once as a character timeout (IIR 0xCC): with
 * no clock we model the 4-character timeout as already expired.
 *
 * IRQ line: the level is recomputed after every access and ops->set_irq is
 * called only when it changes.  As on the PC/AT, the UART's INTR pin reaches
 * the ISA IRQ line only through the MCR.OUT2 gate, and the output pins are
 * inactive in loopback mode, so level = (source pending && OUT2 && !LOOP);
 * Linux sets OUT2 in serial8250_do_startup().  The VMM drives GSI 4, which
 * the guest programs edge-triggered (ISA default, no MADT override): a 0->1
 * change of set_irq is what interrupts the guest.  Linux's handler loops on
 * IIR until "no interrupt", so the line is low when it returns and the next
 * event is a fresh edge; a source raised while the handler runs (e.g. THRE
 * after it refills THR) makes an edge that KVM latches in the LAPIC IRR.
 *
 * Output batching: consecutive THR writes are gathered (up to
 * UART_TX_BATCH bytes) and handed to ops->tx in one call when the guest
 * does anything else with the UART (reads IIR or LSR, writes IER, ...),
 * when the batch is full, or on uart_flush().  Linux's interrupt handler
 * writes at most 16 bytes between two IIR reads and its polled console
 * reads LSR before each byte and writes IER at the end, so no byte waits
 * for long; bytes are never dropped or reordered.  The VMM must call
 * uart_flush() before it exits (and may call it from a periodic timer to
 * cover a guest that writes THR and then never touches the UART again).
 *
 * Input backpressure: uart_rx_push() copies host bytes into a
 * UART_RX_BUF_SIZE ring; the first 16 (1 with FIFOs off) are the hardware
 * FIFO the guest sees, the rest is still "on the wire".  Input is accepted
 * only while the guest has the received-data interrupt enabled (IER.ERBFI)
 * and is not in loopback: before the driver opens the port, and while the
 * tty layer throttles it, bytes stay with the host instead of being lost to
 * an overrun as on real hardware.  FCR "clear RX FIFO" drops only the bytes
 * in the hardware FIFO.
 */
#ifndef MINIVMM_DEVICES_UART_UART_H
#define MINIVMM_DEVICES_UART_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/bus.h"

#define UART_NR_PORTS 8	      /* register it with len UART_NR_PORTS */
#define UART_FIFO_SIZE 16     /* 16550A RX/TX FIFO depth */
#define UART_RX_BUF_SIZE 4096 /* host-side input ring, power of two */
#define UART_TX_BATCH 64      /* THR bytes gathered before ops->tx */

struct uart_ops {
	/*
	 * Drive the interrupt line to level (0 or 1).  Called only when the
	 * level changes, with the UART's lock held (so calls are ordered):
	 * it must not call back into the UART.  Any thread may call it.
	 */
	void (*set_irq)(void *opaque, int level);
	/*
	 * Hand n > 0 guest bytes to the host, in order.  Called WITHOUT the
	 * UART's lock held (it may block on a slow terminal: that is the
	 * guest's backpressure) but never concurrently with itself for one
	 * UART.  Called from a vCPU thread or from uart_flush()'s caller.
	 */
	void (*tx)(void *opaque, const uint8_t *buf, size_t n);
	/*
	 * Optional (may be NULL): after a uart_rx_push() accepted fewer bytes
	 * than offered, called once when uart_rx_space() becomes non-zero
	 * again (the guest read input or enabled its RX interrupt).  Called
	 * from a vCPU thread without the lock held; typically writes an
	 * eventfd the event loop polls.  Without it, retry on a timer.
	 */
	void (*rx_ready)(void *opaque);
};

/* The fields are private to uart.c; the struct is public so it can be embedded. */
struct uart {
	pthread_mutex_t lock;
	pthread_cond_t tx_cond; /* tx_busy cleared or the batch was taken */
	const struct uart_ops *ops;
	void *opaque;

	uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
	uint8_t lsr_err;   /* sticky LSR error bits (OE), cleared by reading LSR */
	uint8_t msr_delta; /* MSR bits 3:0, cleared by reading MSR */
	uint8_t rbr_last;  /* RBR reads back the last byte when empty */
	bool thr_ipending; /* THR-empty interrupt pending */
	bool irq_level;	   /* last level given to ops->set_irq */

	/* RX ring: rx_head is the oldest byte; fifo = first min(count, 16). */
	uint8_t rx_buf[UART_RX_BUF_SIZE];
	size_t rx_head, rx_count;
	bool rx_blocked; /* a push was refused: ops->rx_ready owed */

	/* TX batch: tx_len bytes waiting; tx_busy while a thread is in ops->tx. */
	uint8_t tx_buf[UART_TX_BATCH];
	size_t tx_len;
	bool tx_busy;
};

/*
 * Put u in its power-on state (IER=0, IIR=0x01, LCR=MCR=0, LSR=0x60,
 * divisor 12 = 9600 baud, FIFOs off).  ops->set_irq and ops->tx are
 * required and must outlive u; the line is assumed low initially.
 * Returns 0 or -errno (mutex/condvar init).
 */
int uart_init(struct uart *u, const struct uart_ops *ops, void *opaque);

/* Release the lock and condvar; nothing may use u concurrently or afterwards. */
void uart_destroy(struct uart *u);

/*
 * Port-I/O handlers, opaque = struct uart *.  Register with
 * bus_register(&pio, LAYOUT_COM1_PORT, UART_NR_PORTS, &uart_bus_ops, u).
 * A 2- or 4-byte access is split into byte accesses at consecutive ports,
 * as the ISA bus does for an 8-bit device.
 */
extern const struct bus_ops uart_bus_ops;

/*
 * Offer n host input bytes to the guest.  Returns how many were accepted
 * (0..n, never more than uart_rx_space()); the caller keeps the rest and
 * offers them again after ops->rx_ready, or on a timer.  May raise the IRQ
 * line.  Thread-safe.
 */
size_t uart_rx_push(struct uart *u, const uint8_t *buf, size_t n);

/*
 * Bytes uart_rx_push() would accept now: 0 while the guest's RX interrupt
 * is disabled or in loopback, else the free space of the input ring.
 */
size_t uart_rx_space(struct uart *u);

/*
 * Hand every TX byte the guest has written so far to ops->tx and return
 * when it has been delivered (waiting for a flush another thread has in
 * progress).  Call before the VMM exits; safe from any thread except from
 * inside ops->tx/set_irq.
 */
void uart_flush(struct uart *u);

/*
 * The registers a snapshot keeps (vmm/snapshot.c), fixed layout.  The TX
 * batch is flushed before saving and the host input ring is not kept (no
 * input flows before a snapshot: the guest init has not said ready).
 */
struct uart_state {
	uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
	uint8_t lsr_err, msr_delta, rbr_last;
	uint8_t thr_ipending, irq_level;
	uint8_t pad[4];
};

/* Save u's registers (after uart_flush(); the vCPUs stopped). */
void uart_save(struct uart *u, struct uart_state *s);

/*
 * Set u's registers from s (before the vCPUs run; the interrupt line's
 * level is the irqchip's, restored with it, so set_irq is not called).
 */
void uart_restore(struct uart *u, const struct uart_state *s);

#endif
