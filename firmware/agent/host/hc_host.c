/* hc_host.c - the agent built for a host (Linux, gcc), for tests: a port
 * on stdin/stdout and a tiny application, driven by a script on stdin.
 *
 *   T us              set the clock
 *   E kind task arg   hc_event
 *   S task jobs max misses   hc_summary
 *   D                 hc_done
 *   X hex             bytes from the host (hc_rx_byte), hex-encoded
 *   H / F             hold the transmitter (bytes queue up, may drop) / free it
 *
 * Board output goes to stdout; what the application was asked to do goes to
 * stderr, one line per action ("go 5000", "fault 3 LB", "stop", "reset"). A
 * reset re-runs hc_init with the .noinit state kept, as a board would. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_agent.h"
#include "hc_port.h"

static uint64_t now_us;
static int hold;
static int active;
static jmp_buf reboot;

uint64_t hc_port_now_us(void) { return now_us; }
uint32_t hc_port_enter(void) { return 0; }
void hc_port_exit(uint32_t s) { (void)s; }

void hc_port_tx_kick(void)
{
	uint8_t b;
	if (hold)
		return;
	while (hc_tx_pull(&b))
		putchar(b);
}

void hc_port_tx_poll(uint8_t b) { putchar(b); }

void hc_port_reset(void)
{
	fprintf(stderr, "reset\n");
	longjmp(reboot, 1);
}

void hc_app_table(void)
{
	hc_send_task(0, "hi", 10, 1000, 1000, 0, 100);
	hc_send_task(1, "lo prio!", 1, 5000, 4000, 10, 200); /* name gets sanitized */
	hc_send_lock(0, "bus", "inherit", 10);
	hc_send_table_end(2, 1);
}

const char *hc_app_config(const char *key, const char *value)
{
	if (active)
		return "busy";
	if (!strcmp(key, "trace"))
		return 0;
	if (!strcmp(key, "mutex"))
		return strcmp(value, "none") && strcmp(value, "inherit") && strcmp(value, "ceiling") ? "bad_value" : 0;
	return "bad_key";
}

const char *hc_app_fault(const struct hc_fault *f, uint64_t at_us, int now)
{
	if (f->kind == HC_FAULT_LH && (f->a < 0 || f->a > 1))
		return "bad_task";
	if (now && !active)
		return "idle";
	fprintf(stderr, "fault %u %d %llu\n", f->id, f->kind, (unsigned long long)at_us);
	return 0;
}

const char *hc_app_check_go(uint64_t d)
{
	(void)d;
	return active ? "busy" : 0;
}

void hc_app_go(uint64_t d)
{
	active = 1;
	fprintf(stderr, "go %llu\n", (unsigned long long)d);
	hc_event(HC_EV_GO, -1, (int64_t)d);
}

void hc_app_stop(void)
{
	fprintf(stderr, "stop\n");
	if (active)
		hc_done();
	active = 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int main(void)
{
	static char line[1 << 16];
	static const struct hc_ident id = {"host-agent", "1.0", "0123abcd"};
	setvbuf(stdout, 0, _IOFBF, 1 << 16);
	if (setjmp(reboot))
		active = 0;
	hc_init(&id);
	while (fgets(line, sizeof line, stdin)) {
		unsigned long long a, b, c, d;
		long long sa, sb;
		switch (line[0]) {
		case 'T':
			if (sscanf(line + 1, "%llu", &a) == 1)
				now_us = a;
			break;
		case 'E':
			if (sscanf(line + 1, "%llu %lld %lld", &a, &sa, &sb) == 3)
				hc_event((uint8_t)a, (int32_t)sa, sb);
			break;
		case 'S':
			if (sscanf(line + 1, "%llu %llu %llu %llu", &a, &b, &c, &d) == 4)
				hc_summary((int32_t)a, (uint32_t)b, (int64_t)c, (uint32_t)d);
			break;
		case 'D':
			hc_done();
			break;
		case 'H':
			hold = 1;
			break;
		case 'F':
			hold = 0;
			hc_port_tx_kick();
			break;
		case 'X':
			for (char *p = line + 2; hexval(p[0]) >= 0 && hexval(p[1]) >= 0; p += 2)
				hc_rx_byte((uint8_t)(hexval(p[0]) << 4 | hexval(p[1])));
			break;
		}
	}
	hold = 0;
	hc_port_tx_kick();
	fflush(stdout);
	return 0;
}
