# Which SIMD instruction sets this build carries, and the flags each kernel
# object is compiled with. The dispatcher (src/kernels/dispatch.cpp) is
# compiled with baseline flags and picks one of them at run time.
include(CheckCXXSourceCompiles)

set(EDGEATTN_ISAS "")            # names, best last
set(EDGEATTN_ISA_FLAGS_sse2 "")
set(EDGEATTN_ISA_FLAGS_sse41 "-msse4.1")
set(EDGEATTN_ISA_FLAGS_avx2 "-mavx2;-mfma")
set(EDGEATTN_ISA_FLAGS_avx512 "-mavx512f;-mavx2;-mfma")
set(EDGEATTN_ISA_FLAGS_neon "")
set(EDGEATTN_ISA_FLAGS_neon64 "")

if(EDGEATTN_SIMD)
  # Debian's xsimdConfig links a non-existent "xtl" target, so only its
  # include directory is used. Cross builds do not see the host's config
  # (it sits under the x86-64 lib dir) and find the header directly.
  find_package(xsimd QUIET)
  if(xsimd_FOUND AND xsimd_INCLUDE_DIRS)
    set(EDGEATTN_XSIMD_INCLUDE ${xsimd_INCLUDE_DIRS} CACHE PATH "xsimd include directory")
  endif()
  find_path(EDGEATTN_XSIMD_INCLUDE xsimd/xsimd.hpp)
  if(NOT EDGEATTN_XSIMD_INCLUDE)
    message(FATAL_ERROR "edgeattn: xsimd headers not found (apt-get install libxsimd-dev), "
                        "or configure with -DEDGEATTN_SIMD=OFF for the scalar-only build")
  endif()
  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _proc)
  if(_proc MATCHES "^(x86_64|amd64|x64)$")
    set(EDGEATTN_ISAS sse2 sse41 avx2 avx512)
  elseif(_proc MATCHES "^(aarch64|arm64)$")
    set(EDGEATTN_ISAS neon64)
  elseif(_proc MATCHES "^arm")
    # 32-bit ARM: NEON only when the toolchain's flags enable it (-mfpu=neon*).
    check_cxx_source_compiles("
      #if !defined(__ARM_NEON) && !defined(__ARM_NEON__)
      #error no neon
      #endif
      int main() { return 0; }" EDGEATTN_TARGET_HAS_NEON)
    if(EDGEATTN_TARGET_HAS_NEON)
      set(EDGEATTN_ISAS neon)
    endif()
  endif()
endif()
message(STATUS "edgeattn: SIMD kernels compiled for: scalar ${EDGEATTN_ISAS}")
