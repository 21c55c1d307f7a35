/* cmsdk.h - the registers of QEMU's mps2-an385 (Cortex-M3, 25 MHz) that the
 * reference firmware uses. Addresses and IRQs: DESIGN.md, "C board agent". */
#ifndef CMSDK_H
#define CMSDK_H

#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))
#define SYSCLK_HZ 25000000u
#define TICKS_PER_US 25u

/* CMSDK APB UART0 */
#define UART0_BASE 0x40004000u
#define UART_DATA REG(UART0_BASE + 0x00)
#define UART_STATE REG(UART0_BASE + 0x04)
#define UART_CTRL REG(UART0_BASE + 0x08)
#define UART_INT REG(UART0_BASE + 0x0C) /* INTSTATUS / INTCLEAR */
#define UART_BAUDDIV REG(UART0_BASE + 0x10)
#define UART_STATE_TXFULL 1u
#define UART_STATE_RXFULL 2u
#define UART_CTRL_TXEN 1u
#define UART_CTRL_RXEN 2u
#define UART_CTRL_TXIE 4u
#define UART_CTRL_RXIE 8u
#define UART_INT_TX 1u
#define UART_INT_RX 2u
#define IRQ_UART0_RX 0
#define IRQ_UART0_TX 1

/* CMSDK APB timers: down-counters at SYSCLK */
#define TIMER0_BASE 0x40000000u
#define TIMER1_BASE 0x40001000u
#define TIMER_CTRL(b) REG((b) + 0x00)
#define TIMER_VALUE(b) REG((b) + 0x04)
#define TIMER_RELOAD(b) REG((b) + 0x08)
#define TIMER_INT(b) REG((b) + 0x0C)
#define TIMER_CTRL_EN 1u
#define TIMER_CTRL_IE 8u
#define IRQ_TIMER0 8
#define IRQ_TIMER1 9

/* CMSDK APB dual timer, channel 1: the running thread's compute budget */
#define DUAL_BASE 0x40002000u
#define DUAL1_LOAD REG(DUAL_BASE + 0x00)
#define DUAL1_VALUE REG(DUAL_BASE + 0x04)
#define DUAL1_CTRL REG(DUAL_BASE + 0x08)
#define DUAL1_INTCLR REG(DUAL_BASE + 0x0C)
#define DUAL_CTRL_EN 0x80u
#define DUAL_CTRL_IE 0x20u
#define DUAL_CTRL_32BIT 0x02u
#define DUAL_CTRL_ONESHOT 0x01u
#define IRQ_DUALTIMER 10

/* An interrupt no device raises: the irq-storm fault pends it by software */
#define IRQ_STORM 31

/* CMSDK APB watchdog: first expiry raises the interrupt (NMI here), the
 * second, with the interrupt still set, resets the machine. */
#define WDOG_BASE 0x40008000u
#define WDOG_LOAD REG(WDOG_BASE + 0x00)
#define WDOG_VALUE REG(WDOG_BASE + 0x04)
#define WDOG_CTRL REG(WDOG_BASE + 0x08)
#define WDOG_INTCLR REG(WDOG_BASE + 0x0C)
#define WDOG_LOCK REG(WDOG_BASE + 0xC00)
#define WDOG_UNLOCK_KEY 0x1ACCE551u
#define WDOG_CTRL_INTEN 1u
#define WDOG_CTRL_RESEN 2u

/* System control block and NVIC */
#define SCB_ICSR REG(0xE000ED04)
#define SCB_AIRCR REG(0xE000ED0C)
#define SCB_SHPR3 REG(0xE000ED20)
#define SCB_CFSR REG(0xE000ED28)
#define ICSR_PENDSVSET (1u << 28)
#define NVIC_ISER0 REG(0xE000E100)
#define NVIC_ISPR0 REG(0xE000E200)
#define NVIC_IPR(n) (*(volatile uint8_t *)(0xE000E400u + (n)))

#endif
