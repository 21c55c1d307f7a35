/* startup.c - vector table and reset handler for QEMU's mps2-an385. */
#include <stddef.h>
#include <stdint.h>

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];
int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void PendSV_Handler(void);
void TIMER0_Handler(void);
void UART0RX_Handler(void);
void UART0TX_Handler(void);
void DUALTIMER_Handler(void);
void STORM_Handler(void);

__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 32])(void) = {
	(void (*)(void))__stack_top,
	Reset_Handler,
	NMI_Handler,
	HardFault_Handler,
	HardFault_Handler, /* MemManage */
	HardFault_Handler, /* BusFault */
	HardFault_Handler, /* UsageFault */
	0, 0, 0, 0,
	Default_Handler, /* SVCall */
	Default_Handler, /* DebugMon */
	0,
	PendSV_Handler,
	Default_Handler, /* SysTick */
	[16 + 0] = UART0RX_Handler,
	[16 + 1] = UART0TX_Handler,
	[16 + 2] = Default_Handler,
	[16 + 3] = Default_Handler,
	[16 + 4] = Default_Handler,
	[16 + 5] = Default_Handler,
	[16 + 6] = Default_Handler,
	[16 + 7] = Default_Handler,
	[16 + 8] = TIMER0_Handler,
	[16 + 9] = Default_Handler,
	[16 + 10] = DUALTIMER_Handler,
	[16 + 11 ... 16 + 30] = Default_Handler,
	[16 + 31] = STORM_Handler,
};

void Reset_Handler(void)
{
	uint32_t *s = __data_load, *d = __data_start;
	while (d < __data_end)
		*d++ = *s++;
	for (d = __bss_start; d < __bss_end;)
		*d++ = 0;
	main();
	for (;;)
		;
}

void Default_Handler(void)
{
	for (;;)
		;
}

/* gcc may emit calls to these for struct copies and initialisers */
void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}
