// The hypervisor's GDT (64-bit code, data, TSS) and IDT (the 32 exception vectors).
#pragma once

namespace keel::x86 {
// Loads the GDT with a TSS whose IST1 is the #DF stack, reloads the segment
// registers and TR, and loads an IDT routing vectors 0-31 to vectors.S.
void descriptors_init();
} // namespace keel::x86
