// Links against the installed library and checks one kernel result.
#include <cstdio>

#include <edgeattn/edgeattn.h>

int main() {
  const float a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
  const float d = edgeattn::kernels::dot(a, b, 3);
  std::printf("edgeattn %s, isa %s, dot = %g\n", EDGEATTN_VERSION_STRING,
              edgeattn::isa_name(edgeattn::active_isa()), d);
  return d == 32.0f ? 0 : 1;
}
