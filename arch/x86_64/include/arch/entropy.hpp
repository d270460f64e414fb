// x86_64 CPU randomness: RDSEED/RDRAND where CPUID says so (entropy.cpp).
#pragma once

#include "arch/entropy_interface.hpp"
