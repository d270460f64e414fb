// x86_64 live update: the update region and the image checks; no swap yet (live_update.cpp).
#pragma once

#include "arch/update_interface.hpp"
