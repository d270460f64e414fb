// arm64 entropy: RNDR where FEAT_RNG exists (entropy.cpp).
#pragma once

#include "arch/entropy_interface.hpp"
