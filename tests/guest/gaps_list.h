// The longest gaps between two counter readings, shared by the test guests' "gaps" mode
// (arm64 guest.c, x86_64 gaps.c): kept longest first, each with the reading that ended it,
// and printed `per_line` to a line as " len@end" (the hypervisor's console cuts lines at
// 120 characters). Include after guest_print.h's puts_
// and putdec are defined.
#pragma once

#include <stdint.h>

// `gap` (ended at reading `now`) into the sorted list of `kept`, if it is long enough.
static inline void gaps_note(uint64_t* len, uint64_t* end, int kept, uint64_t gap, uint64_t now) {
    if (gap <= len[kept - 1]) return;
    int k = kept - 1;
    for (; k > 0 && len[k - 1] < gap; --k) {
        len[k] = len[k - 1];
        end[k] = end[k - 1];
    }
    len[k] = gap;
    end[k] = now;
}

// Prints the list as "<head><line number>: len@end ..." lines, or with a counter `rate`
// other than 0 "<head><rate> Hz, part <line number>: ...", and empties it.
static inline void gaps_print(uint64_t* len, uint64_t* end, int kept, int per_line,
                              const char* head, uint64_t rate) {
    for (int k = 0; k < kept; ++k) {
        if (k % per_line == 0) {
            puts_(head);
            if (rate != 0) {
                putdec(rate);
                puts_(" Hz, part ");
            }
            putdec((uint64_t)(k / per_line));
            puts_(":");
        }
        puts_(" ");
        putdec(len[k]);
        puts_("@");
        putdec(end[k]);
        if (k % per_line == per_line - 1) puts_("\n");
        len[k] = end[k] = 0;
        __asm__ volatile("" ::: "memory"); // a loop, not a memset call (no libc here)
    }
}
