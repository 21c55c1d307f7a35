/* board.c - the mps2-an385 board support and the agent's port (hc_port.h):
 * TIMER1 free-running as the board clock (40 ns), TIMER0 one-shot as the
 * kernel's timer, UART0 (RX by interrupt, TX polled by the idle thread), the CMSDK
 * watchdog (its first expiry is the NMI), dual timer 1 as the running
 * thread's compute budget, IRQ 31 pended by software for irq storms. */
#include "cmsdk.h"
#include "hc_agent.h"
#include "hc_port.h"
#include "kernel.h"

/* TIMER1 counts down from T1_RELOAD: one wrap every 100 s exactly. Wraps
 * are counted when the clock is read (the kernel reads it at least every
 * millisecond), not by an interrupt: an interrupt every 100 s would land at
 * a different point of each run and break icount repeatability. */
#define T1_RELOAD 2499999999u
static uint32_t t1_wraps, t1_last = T1_RELOAD;

static void read_clock(uint32_t *wraps, uint32_t *elapsed)
{
	uint32_t s = hc_port_enter();
	uint32_t v = TIMER_VALUE(TIMER1_BASE);
	if (v > t1_last && v - t1_last > T1_RELOAD / 2) /* a wrap, not a count read twice */
		t1_wraps++;
	t1_last = v;
	*wraps = t1_wraps;
	hc_port_exit(s);
	*elapsed = T1_RELOAD - v;
}

uint64_t board_ticks(void)
{
	uint32_t w, e;
	read_clock(&w, &e);
	return (uint64_t)w * (T1_RELOAD + 1ull) + e;
}

uint64_t board_us(void)
{
	uint32_t w, e;
	read_clock(&w, &e);
	return (uint64_t)w * 100000000ull + e / TICKS_PER_US;
}

uint64_t hc_port_now_us(void) { return board_us(); }

uint32_t hc_port_enter(void)
{
	uint32_t p;
	__asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(p)::"memory");
	return p;
}

void hc_port_exit(uint32_t state) { __asm volatile("msr primask, %0" ::"r"(state) : "memory"); }

/* The idle thread sends: while UART0 has room it takes a byte from the
 * agent's ring and writes it; with nothing to send it waits for the next
 * interrupt (WFI); while UART0 is full it polls its status. No TX
 * interrupt: QEMU completes a UART write at once while the PTY has room,
 * and later, at a moment set by when the host reads, when it has none; a
 * TX interrupt (or a transmit loop inside a task's event call) would then
 * preempt the tasks at a host-dependent instant, and under icount two
 * runs with the same seed would differ. A busy CPU sends nothing until it
 * idles; the 16 KiB ring holds the events meanwhile (a full ring drops
 * and counts them). A reset's polled flush (hc_reset) that preempts idle
 * between its take and its write, a window of a few instructions, loses
 * that byte and so cuts one frame before the reset (the host drops it on
 * its checksum).
 *
 * WFI: under `-icount shift=N,sleep=off` QEMU moves the virtual clock
 * straight to the next timer's deadline while the CPU sleeps, so idle
 * board time costs almost no host time, and the deadline is the
 * firmware's own (TIMER0, the budget timer), the same in every run
 * (docs/AGENT.md, "Repeatability"). The ring may get bytes from an
 * interrupt between the check and the WFI; they wait for the next
 * interrupt, at most a few milliseconds of board time.
 *
 * UART0 full means the PTY was full (the host had not read for a while)
 * and QEMU will finish the byte when the PTY has room again. It does not
 * while the CPU sleeps: with a WFI there the line stayed silent until the
 * host wrote something (seen with a harness slowed to read every 50 ms:
 * the run's last 253 frames dropped; polling, every such stall ended). */
void hc_port_tx_kick(void) {}

void board_tx_idle(void)
{
	uint8_t b;
	if (UART_STATE & UART_STATE_TXFULL)
		return; /* the PTY is full: poll, never sleep (below) */
	if (hc_tx_pull(&b)) {
		UART_DATA = b;
		return;
	}
	__asm volatile("wfi" ::: "memory");
}

void hc_port_tx_poll(uint8_t b)
{
	while (UART_STATE & UART_STATE_TXFULL)
		;
	UART_DATA = b;
}

void hc_port_reset(void)
{
	while (UART_STATE & UART_STATE_TXFULL)
		;
	__asm volatile("dsb" ::: "memory");
	SCB_AIRCR = 0x05FA0004u;
	__asm volatile("dsb" ::: "memory");
	for (;;)
		;
}

/* TIMER0 as a one-shot: the count runs from delta to 0, and RELOAD is
 * only a backstop, T0_BACKSTOP ticks (1 us). Under `-icount sleep=off`
 * QEMU 7.2 moves the clock of a sleeping CPU (WFI) exactly onto the
 * timer's deadline, and there the CMSDK timer's first expiry after it
 * was started raises no interrupt (also with VALUE 0 and the delta in
 * RELOAD): the counter just reloads, and with RELOAD = delta the CPU
 * slept a whole delta more (measured: a release due 88 ms later came
 * 176 ms later). The expiries after a reload do interrupt, so the
 * backstop wakes the CPU 1 us late at worst; TIMER0_Handler stops the
 * one-shot before it expires again. */
#define T0_BACKSTOP 25u
static int t0_oneshot;

void board_timer0_at(uint64_t delta)
{
	TIMER_CTRL(TIMER0_BASE) = 0;
	TIMER_INT(TIMER0_BASE) = 1;
	t0_oneshot = 1;
	if (delta == 0)
		return;
	if (delta > 0x7FFFFFFFu)
		delta = 0x7FFFFFFFu;
	TIMER_RELOAD(TIMER0_BASE) = T0_BACKSTOP;
	TIMER_VALUE(TIMER0_BASE) = (uint32_t)delta;
	TIMER_CTRL(TIMER0_BASE) = TIMER_CTRL_EN | TIMER_CTRL_IE;
}

void board_timer0_periodic(uint32_t ticks)
{
	TIMER_CTRL(TIMER0_BASE) = 0;
	TIMER_INT(TIMER0_BASE) = 1;
	t0_oneshot = 0;
	TIMER_RELOAD(TIMER0_BASE) = ticks;
	TIMER_VALUE(TIMER0_BASE) = ticks;
	TIMER_CTRL(TIMER0_BASE) = TIMER_CTRL_EN | TIMER_CTRL_IE;
}

static uint32_t wdog_load;

void board_wdog_arm(uint32_t us)
{
	wdog_load = us * TICKS_PER_US;
	WDOG_LOCK = WDOG_UNLOCK_KEY;
	WDOG_CTRL = 0;
	WDOG_INTCLR = 1;
	WDOG_CTRL = WDOG_CTRL_INTEN;
	WDOG_LOAD = wdog_load;
	WDOG_INTCLR = 1;
	WDOG_CTRL = WDOG_CTRL_INTEN | WDOG_CTRL_RESEN;
}

void board_wdog_kick(void) { WDOG_INTCLR = 1; /* clears and reloads the counter */ }

/* Between runs the watchdog must not reset the board (PROTOCOL.md 2.5),
 * and it must not be left able to reset it at the next GO either. QEMU
 * 7.2's CMSDK watchdog counts even with CTRL 0, and its second expiry
 * sets a reset status that only a machine reset clears: with RESEN off
 * nothing happens then, but the next board_wdog_arm that sets RESEN
 * resets the machine on the spot, with no NMI and so no WX and no WDT
 * reason. With a 200 ms timeout any pause of 400 ms between runs did it
 * (conform's starve test, after its 300 ms idle check). So between runs
 * the counter is reloaded with its longest period (171 s) and the
 * heartbeat kicks it every millisecond (board_wdog_idle): it never
 * expires outside a run. */
void board_wdog_off(void)
{
	WDOG_LOCK = WDOG_UNLOCK_KEY;
	WDOG_CTRL = 0;
	WDOG_LOAD = 0xFFFFFFFFu;
	WDOG_INTCLR = 1;
}

void board_wdog_idle(void) { WDOG_INTCLR = 1; }

void board_budget(uint64_t ticks)
{
	DUAL1_CTRL = 0;
	DUAL1_INTCLR = 1;
	if (ticks == 0)
		return;
	if (ticks > 0xFFFFFFFFu)
		ticks = 0xFFFFFFFFu;
	DUAL1_LOAD = (uint32_t)ticks;
	DUAL1_CTRL = DUAL_CTRL_EN | DUAL_CTRL_IE | DUAL_CTRL_32BIT | DUAL_CTRL_ONESHOT;
}

void board_storm_prio(int prio) { NVIC_IPR(IRQ_STORM) = (uint8_t)(prio << 5); }

void board_init(void)
{
	/* board clock */
	TIMER_RELOAD(TIMER1_BASE) = T1_RELOAD;
	TIMER_VALUE(TIMER1_BASE) = T1_RELOAD;
	TIMER_CTRL(TIMER1_BASE) = TIMER_CTRL_EN;
	/* UART0 at 115200 baud (QEMU does not pace it) */
	UART_BAUDDIV = SYSCLK_HZ / 115200u;
	UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN | UART_CTRL_RXIE;
	/* priorities (3 bits): kernel timer and budget, then UART, then storm */
	NVIC_IPR(IRQ_TIMER0) = 0x20;
	NVIC_IPR(IRQ_UART0_RX) = 0x40;
	NVIC_IPR(IRQ_DUALTIMER) = 0x20;
	NVIC_IPR(IRQ_STORM) = 0x60;
	board_wdog_off(); /* counting since the reset: see board_wdog_off */
	NVIC_ISER0 = (1u << IRQ_TIMER0) | (1u << IRQ_UART0_RX) | (1u << IRQ_DUALTIMER) | (1u << IRQ_STORM);
}

/* ---- interrupt handlers ---- */

void TIMER0_Handler(void)
{
	if (t0_oneshot)
		TIMER_CTRL(TIMER0_BASE) = 0; /* k_timer_isr arms it again */
	TIMER_INT(TIMER0_BASE) = 1;
	k_timer_isr();
}

void UART0RX_Handler(void)
{
	UART_INT = UART_INT_RX;
	while (UART_STATE & UART_STATE_RXFULL)
		hc_rx_byte((uint8_t)UART_DATA);
}

void DUALTIMER_Handler(void)
{
	DUAL1_INTCLR = 1;
	k_budget_isr();
}

void STORM_Handler(void) { k_storm_isr(); }

/* The watchdog's first expiry: record WX (black box and line), then make
 * the second expiry come at once so the watchdog itself resets the board
 * about 10 us later. */
void NMI_Handler(void)
{
	hc_watchdog_expired();
	WDOG_LOCK = WDOG_UNLOCK_KEY;
	WDOG_LOAD = 250;
	for (;;)
		;
}

/* HardFault, MemManage, BusFault, UsageFault: stacked registers to the
 * agent's crash frame. */
void fault_report(uint32_t *frame)
{
	hc_crash(frame[6], frame[5], frame[7], SCB_CFSR, k_current_task());
}

__attribute__((naked)) void HardFault_Handler(void)
{
	__asm volatile("tst lr, #4\n\t"
		       "ite eq\n\t"
		       "mrseq r0, msp\n\t"
		       "mrsne r0, psp\n\t"
		       "b fault_report\n\t");
}
