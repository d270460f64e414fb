// arm64 cores and events: PSCI CPU_ON bring-up, WFE/SEV (smp.cpp).
#pragma once

#include "arch/smp_interface.hpp"
