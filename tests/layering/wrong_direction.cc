// Must NOT compile: protocol/ may not depend on storage/. The layering test
// compiles this with protocol's include roots only and expects failure.
#include "protocol/value.h"
#include "storage/store.h"

int main() { return 0; }
