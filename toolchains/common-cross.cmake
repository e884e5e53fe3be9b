# Shared by the toolchain files: where to find the target's libraries, and
# the qemu-user emulator that lets ctest run the cross-built tests here.
#
# Headers (xsimd, doctest) come from the host's /usr/include, libraries only
# from the target's directory. binfmt_misc is not assumed: CMake runs test
# binaries through CMAKE_CROSSCOMPILING_EMULATOR. The LD_LIBRARY_PATH given to
# the guest with -E avoids OpenMP programs hanging under qemu.
#
# EDGEATTN_TARGET_SYSROOT (a directory made by tools/target_sysroot.sh)
# adds the target's Google Benchmark and zlib from Debian's packages: then
# the bench_* programs and the examples with pictures are built too.
set(EDGEATTN_TARGET_SYSROOT "" CACHE PATH "Target libraries from tools/target_sysroot.sh")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EDGEATTN_TARGET_SYSROOT)
function(edgeattn_cross_setup triple qemu qemu_args)
  set(root /usr/${triple})
  set(libs ${root}/lib)
  if(EDGEATTN_TARGET_SYSROOT)
    set(CMAKE_FIND_ROOT_PATH ${root} ${EDGEATTN_TARGET_SYSROOT} PARENT_SCOPE)
    string(APPEND libs ":${EDGEATTN_TARGET_SYSROOT}/usr/lib/${triple}:${EDGEATTN_TARGET_SYSROOT}/lib/${triple}")
  else()
    set(CMAKE_FIND_ROOT_PATH ${root} PARENT_SCOPE)
  endif()
  set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER PARENT_SCOPE)
  set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY PARENT_SCOPE)
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH PARENT_SCOPE)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY PARENT_SCOPE)
  find_program(_qemu ${qemu})
  if(_qemu)
    set(CMAKE_CROSSCOMPILING_EMULATOR
        ${_qemu} ${qemu_args} -L ${root} -E LD_LIBRARY_PATH=${libs} PARENT_SCOPE)
  endif()
endfunction()
