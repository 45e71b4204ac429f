#ifndef HAVEN_LIBFUZZER_H
#define HAVEN_LIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (from the toolchain's libclang_rt.fuzzer, linked by -sanitize=fuzzer): runs
/// `callback` on generated inputs, reading libFuzzer's own flags from argc/argv.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
