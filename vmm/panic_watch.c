/*
 * panic_watch.c - see panic_watch.h.
 */
#include "vmm/panic_watch.h"

static const char marker[] = "Kernel panic - not syncing: ";

void panic_watch_feed(struct panic_watch *w, const uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = (char)buf[i];

		if (w->capturing) {
			if (ch == '\n' || ch == '\r') {
				w->capturing = false;
			} else if (w->len + 1 < sizeof(w->msg)) {
				w->msg[w->len++] = ch;
				w->msg[w->len] = '\0';
			}
			continue;
		}
		if (w->seen)
			continue; /* keep the first panic's reason */
		if (ch == marker[w->matched]) {
			w->matched++;
		} else {
			/* The marker has no repeated prefix, so restart cleanly. */
			w->matched = (ch == marker[0]) ? 1 : 0;
		}
		if (w->matched == sizeof(marker) - 1) {
			w->seen = true;
			w->capturing = true;
			w->len = 0;
			w->msg[0] = '\0';
			w->matched = 0;
		}
	}
}
