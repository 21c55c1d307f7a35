/* hc_port.h - the port layer of the hilchaos board agent.
 *
 * These are the only functions a team writes to link the agent into its
 * firmware (docs/AGENT.md). Each is small; the reference port for QEMU's
 * mps2-an385 is firmware/mps2-an385/board.c.
 */
#ifndef HC_PORT_H
#define HC_PORT_H

#include <stdint.h>

/* Microseconds since this boot, monotonic. Called from tasks and ISRs. */
uint64_t hc_port_now_us(void);

/* Enter / leave a critical section that excludes every task and ISR that
 * records events or feeds received bytes. Must nest: enter returns the
 * previous state, exit restores it (on Cortex-M: PRIMASK). */
uint32_t hc_port_enter(void);
void hc_port_exit(uint32_t state);

/* Bytes wait in the transmit ring: make sure the UART is transmitting.
 * The UART's TX-ready interrupt (or a task) then pulls bytes with
 * hc_tx_pull() until it returns 0. Never blocks. */
void hc_port_tx_kick(void);

/* Write one byte, busy-waiting for room. Used only where interrupts cannot
 * run: the fault handlers and just before a reset. */
void hc_port_tx_poll(uint8_t b);

/* Reset the board (Cortex-M: AIRCR SYSRESETREQ). Never returns. */
void hc_port_reset(void);

/* Where the black box lives: a RAM area the startup code does not clear and
 * the loader does not reload (see docs/AGENT.md). */
#ifndef HC_NOINIT
#define HC_NOINIT __attribute__((section(".noinit")))
#endif

#endif
