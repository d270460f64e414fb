// Modes that keep running until the controller stops them (the live-update tests' guests):
// "deaf" ignores everything; "gaps" watches its time stamp counter and, for each 'g' typed
// into its console, prints the longest gap between two of its readings since the last 'g',
// then the sixteen longest with the reading that ended each.
// A guest that answers after an update has kept running through it.
#include "../../guest_modes.h"
#include "guest.h"

#include "../../gaps_list.h" // after guest.h: it prints with puts_ and putdec

// COM1's receiver opened as a driver opens it (Keel's uart.cpp uart_rx_enabled): receive
// interrupts enabled in IER and IIR read once; MCR.OUT2 stays clear, so no IRQ is raised
// and the line status register is polled.
static void rx_open(void) {
    outb_(0x3f9, 0x01);
    (void)inb_(0x3fa);
}

// The longest gaps kept since the last 'g', longest first, each with the reading that ended
// it (the benchmark finds the one spanning a live update's quiesce: bench/update_bench.sh).
#define GAPS_KEPT 16

static void watch_gaps(void) {
    rx_open();
    puts_("guest: gaps: watching the counter\n");
    uint64_t len[GAPS_KEPT], end[GAPS_KEPT];
    for (int k = 0; k < GAPS_KEPT; ++k) {
        len[k] = end[k] = 0;
        __asm__ volatile("" ::: "memory"); // a loop, not a memset call (no libc here)
    }
    uint64_t last = rdtsc_();
    for (uint32_t n = 0;; ++n) {
        __asm__ volatile("pause");
        const uint64_t now = rdtsc_(), gap = now - last;
        last = now;
        gaps_note(len, end, GAPS_KEPT, gap, now);
        // Each line status read is an exit: one every 4096 readings.
        if ((n & 4095) != 0 || !(inb_(0x3fd) & 0x01)) continue;
        if (inb_(0x3f8) != 'g') continue;
        puts_("guest: gaps: longest ");
        putdec(len[0]);
        puts_(" TSC ticks\n");
        gaps_print(len, end, GAPS_KEPT, 2, "guest: gaps in TSC ticks, part ", 0);
        last = rdtsc_(); // the printing is not a gap
    }
}

void run_until_stopped(uint64_t mode) {
    if (mode == MODE_GAPS) watch_gaps();
    puts_("guest: deaf: ignoring everything\n");
    for (;;) // no HLT: with nothing to wake it, Keel would end the VM (devices.cpp hlt_exit)
        __asm__ volatile("pause");
}
