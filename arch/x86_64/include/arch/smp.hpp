// x86_64 cores and events: INIT-SIPI-SIPI bring-up, an event counter (smp.cpp).
#pragma once

#include "arch/smp_interface.hpp"
