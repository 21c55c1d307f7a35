/* board.c - the mps2-an385 board support and the agent's port (hc_port.h):
 * TIMER1 free-running as the board clock (40 ns), TIMER0 one-shot as the
 * kernel's timer, UART0 with interrupt-driven RX and TX, the CMSDK
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
static volatile int tx_busy;

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

/* Fill the UART while it takes bytes. The CMSDK UART holds one byte; on a
 * real line at 115200 baud this writes one byte per TX interrupt, while
 * QEMU (which does not pace the UART) takes a whole frame at once instead
 * of one interrupt per byte. Called with interrupts off. */
static int tx_fill(void)
{
	uint8_t b;
	int n = 0;
	while (!(UART_STATE & UART_STATE_TXFULL) && hc_tx_pull(&b)) {
		UART_DATA = b;
		n++;
	}
	return n;
}

void hc_port_tx_kick(void)
{
	if (!tx_busy && tx_fill())
		tx_busy = 1;
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

void board_timer0_at(uint64_t delta)
{
	if (delta == 0) {
		TIMER_CTRL(TIMER0_BASE) = 0;
		TIMER_INT(TIMER0_BASE) = 1;
		return;
	}
	if (delta > 0x7FFFFFFFu)
		delta = 0x7FFFFFFFu;
	TIMER_CTRL(TIMER0_BASE) = 0;
	TIMER_INT(TIMER0_BASE) = 1;
	TIMER_RELOAD(TIMER0_BASE) = (uint32_t)delta;
	TIMER_VALUE(TIMER0_BASE) = (uint32_t)delta;
	TIMER_CTRL(TIMER0_BASE) = TIMER_CTRL_EN | TIMER_CTRL_IE;
}

void board_timer0_periodic(uint32_t ticks)
{
	TIMER_CTRL(TIMER0_BASE) = 0;
	TIMER_INT(TIMER0_BASE) = 1;
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

void board_wdog_off(void)
{
	WDOG_LOCK = WDOG_UNLOCK_KEY;
	WDOG_CTRL = 0;
	WDOG_INTCLR = 1;
}

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
	UART_CTRL = UART_CTRL_TXEN | UART_CTRL_RXEN | UART_CTRL_TXIE | UART_CTRL_RXIE;
	/* priorities (3 bits): kernel timer and budget, then UART, then storm */
	NVIC_IPR(IRQ_TIMER0) = 0x20;
	NVIC_IPR(IRQ_UART0_RX) = 0x40;
	NVIC_IPR(IRQ_UART0_TX) = 0x40;
	NVIC_IPR(IRQ_DUALTIMER) = 0x20;
	NVIC_IPR(IRQ_STORM) = 0x60;
	NVIC_ISER0 = (1u << IRQ_TIMER0) | (1u << IRQ_UART0_RX) |
		     (1u << IRQ_UART0_TX) | (1u << IRQ_DUALTIMER) | (1u << IRQ_STORM);
}

/* ---- interrupt handlers ---- */

void TIMER0_Handler(void)
{
	TIMER_INT(TIMER0_BASE) = 1;
	k_timer_isr();
}

void UART0RX_Handler(void)
{
	UART_INT = UART_INT_RX;
	while (UART_STATE & UART_STATE_RXFULL)
		hc_rx_byte((uint8_t)UART_DATA);
}

void UART0TX_Handler(void)
{
	UART_INT = UART_INT_TX;
	uint32_t s = hc_port_enter();
	if (!tx_fill() && !(UART_STATE & UART_STATE_TXFULL))
		tx_busy = 0;
	hc_port_exit(s);
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
