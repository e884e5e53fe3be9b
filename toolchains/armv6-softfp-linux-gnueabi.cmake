# ARMv6 with VFP and no NEON (the Pi Zero / Pi 1 core, ARM1176), built with
# Debian's g++-arm-linux-gnueabi as a static soft-float-ABI binary: this is
# the build that runs here under `qemu-arm -cpu arm1176` to prove that no
# ARMv7 or NEON instruction is in the library (Debian's armhf libraries are
# ARMv7 code, so a hard-float ARMv6 binary dies there with SIGILL). For a real
# Pi Zero use armv6-rpi-linux-gnueabihf.cmake with a Raspberry Pi OS toolchain.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv6)
set(_triple arm-linux-gnueabi)
set(CMAKE_C_COMPILER ${_triple}-gcc)
set(CMAKE_CXX_COMPILER ${_triple}-g++)
set(_arch_flags "-march=armv6 -marm -mfpu=vfp -mfloat-abi=softfp")
set(CMAKE_C_FLAGS_INIT "${_arch_flags}")
# -Wno-psabi: GCC's notes on a 32-bit ARM ABI change in GCC 7.1, of no concern here.
set(CMAKE_CXX_FLAGS_INIT "${_arch_flags} -Wno-psabi")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# ARMv6 Pis have one core: no OpenMP (which also has no static libgomp here).
set(EDGEATTN_OPENMP OFF CACHE BOOL "Use OpenMP")

include(${CMAKE_CURRENT_LIST_DIR}/common-cross.cmake)
edgeattn_cross_setup(${_triple} qemu-arm "-cpu;arm1176")
