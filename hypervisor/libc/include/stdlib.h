/* Keel's freestanding <stdlib.h>: present because third-party headers include it.
 * There is no heap: nothing here allocates. */
#ifndef KEEL_LIBC_STDLIB_H
#define KEEL_LIBC_STDLIB_H
#include <stddef.h>
#endif
