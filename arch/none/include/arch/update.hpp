// For an arch without live update yet (cmake/image.cmake adds this folder then).
#pragma once

#include "arch/update_interface.hpp"
