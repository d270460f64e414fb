// x86_64 entropy: RDRAND where CPUID says so (entropy.cpp).
#pragma once

#include "arch/entropy_interface.hpp"
