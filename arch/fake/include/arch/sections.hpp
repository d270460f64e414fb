// The fake arch: host processes zero their memory themselves; nothing to place.
#pragma once

#define KEEL_NOINIT
