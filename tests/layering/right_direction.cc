// Must compile with protocol's include roots: the control for the layering
// test, so that a broken compiler command cannot make it pass.
#include "protocol/value.h"

int main() { return 0; }
