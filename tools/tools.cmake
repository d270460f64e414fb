# Host programs (image signer, disk builder, keelctl) are added here as they land.
# tools/keel-run (emulator harness) and tools/image-report are Python scripts.
