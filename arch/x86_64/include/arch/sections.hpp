// Where large buffers live in the image. KEEL_NOINIT: storage written before it is read
// (stacks, table pages zeroed as they are handed out, staging and scratch buffers), in
// .noinit, which the boot does not zero (linker.ld; docs/performance.md "Boot").
#pragma once

#define KEEL_NOINIT [[gnu::section(".noinit")]]
