// arm64 mailbox transport (mailbox_transport.cpp).
#pragma once

#include "arch/mailbox_interface.hpp"
