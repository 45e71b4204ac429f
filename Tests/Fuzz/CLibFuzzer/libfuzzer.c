// The declaration in include/libfuzzer.h is all this module is; SwiftPM needs one source file.
#include "libfuzzer.h"
