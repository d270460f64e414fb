// An arch without live update yet: UPDATE verifies images, Apply answers Unsupported.
#include <arch/update.hpp>

namespace keel::arch {

update::Swap* live_update() { return nullptr; }

} // namespace keel::arch
