// The product image: the real-mode VT-x self-test needs the in-tree test guest, which
// only the test image carries (test_vm.cpp there).
#include "hypervisor/print.hpp"
#include "vmx.hpp"

namespace keel::vmx {
Status run_test_vm(const Platform&, TestMode) {
    kprint("vmx: this image has no test guest (keel.test=vmx needs the test image)\n");
    return Status::Unsupported;
}
} // namespace keel::vmx
