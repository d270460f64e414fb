"""Checks the mailbox scenarios share (sriov_scenarios.py, update_scenarios.py): each prints
what failed and returns whether all held."""

KERNEL_DEATHS = ("Kernel panic", "Internal error", "Call trace", "Unable to handle")


def all_in(text, wants, where):
    """Every string of `wants` in `text` (`where` names it: "audit log", "vm 1's console")."""
    ok = True
    for want in wants:
        if want not in text:
            print(f"FAIL: {where} lacks '{want}'")
            ok = False
    return ok


def kernel_alive(serial_text):
    """No guest kernel on the serial log died (panic, oops, call trace)."""
    if any(bad in serial_text for bad in KERNEL_DEATHS):
        print("FAIL: the guest's kernel died")
        return False
    return True
