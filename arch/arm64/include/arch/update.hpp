// arm64 live update: quiesce, describe, resume (live_update.cpp).
#pragma once

#include "arch/update_interface.hpp"
