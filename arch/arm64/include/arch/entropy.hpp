// arm64 CPU randomness: RNDRRS/RNDR where FEAT_RNG exists (entropy.cpp).
#pragma once

#include "arch/entropy_interface.hpp"
