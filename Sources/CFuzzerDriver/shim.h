// libFuzzer's driver entry (compiler-rt, linked by -sanitize=fuzzer). Declared here so the fuzz
// target can run libFuzzer from its own entry point; only referenced in FUZZING builds.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
