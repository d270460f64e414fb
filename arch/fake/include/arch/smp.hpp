// The fake arch's cores and events (fake_vm.cpp).
#pragma once

#include "arch/smp_interface.hpp"
