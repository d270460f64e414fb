#include "drivers/pci/flr.hpp"

namespace keel::pci {

Result<u32> find_cap(ConfigAccess& cfg, Bdf f, u8 id) {
    if ((cfg.read32(f, kCfgStatus) & kStatusCapList) == 0) return Status::NotFound;
    u32 at = cfg.read32(f, kCfgCapPtr) & 0xfc;
    // 48 dwords after the header: more hops than that is a loop.
    for (u32 hops = 0; at != 0 && hops < 48; ++hops) {
        if (at < 0x40) return Status::Corrupt;
        const u32 h = cfg.read32(f, at);
        if ((h & 0xff) == id) return at;
        at = (h >> 8) & 0xfc;
    }
    return at == 0 ? Result<u32>(Status::NotFound) : Result<u32>(Status::Corrupt);
}

Status function_level_reset(ConfigAccess& cfg, Bdf f, Waiter& wait) {
    Result<u32> cap = find_cap(cfg, f, kCapIdPcie);
    if (!cap.ok()) return cap.status() == Status::Corrupt ? Status::Corrupt : Status::NotFound;
    if ((cfg.read32(f, cap.value() + kPcieDevCap) & kDevCapFlr) == 0) return Status::Unsupported;
    // No new requests, then up to 100 ms for the outstanding ones to complete.
    const u32 cmd = cfg.read32(f, kCfgCommand) & 0xffff;
    cfg.write32(f, kCfgCommand, cmd & ~kCmdBusMaster);
    for (u32 i = 0; i < 10 && (cfg.read32(f, cap.value() + kPcieDevCtl) & kDevStaPending); ++i)
        wait.wait_us(10 * 1000);
    // Device Status is RW1C in the same dword: write zeros there so nothing is cleared.
    const u32 ctl = cfg.read32(f, cap.value() + kPcieDevCtl) & 0xffff;
    cfg.write32(f, cap.value() + kPcieDevCtl, ctl | kDevCtlFlr);
    wait.wait_us(100 * 1000); // §6.6.2: 100 ms before the function is accessed again
    return Status::Ok;
}

} // namespace keel::pci
