# ARMv6 hard float for Raspberry Pi OS (Pi Zero / Zero W / Pi 1): scalar
# kernels only. Needs a toolchain and sysroot whose libraries are ARMv6 code,
# such as Raspberry Pi OS's own (Debian's armhf libraries are ARMv7 and would
# crash on these cores). Point it at yours:
#   cmake -B build-pi0 -DCMAKE_TOOLCHAIN_FILE=toolchains/armv6-rpi-linux-gnueabihf.cmake \
#         -DEDGEATTN_RPI_TRIPLE=arm-linux-gnueabihf -DEDGEATTN_RPI_SYSROOT=/path/to/rpi-sysroot
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv6)
set(EDGEATTN_RPI_TRIPLE "arm-linux-gnueabihf" CACHE STRING "Compiler prefix of the ARMv6 toolchain")
set(EDGEATTN_RPI_SYSROOT "" CACHE PATH "Raspberry Pi OS sysroot (empty: the compiler's default)")
set(CMAKE_C_COMPILER ${EDGEATTN_RPI_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${EDGEATTN_RPI_TRIPLE}-g++)
set(_arch_flags "-march=armv6zk -mtune=arm1176jzf-s -marm -mfpu=vfp -mfloat-abi=hard")
set(CMAKE_C_FLAGS_INIT "${_arch_flags}")
# -Wno-psabi: GCC's notes on a 32-bit ARM ABI change in GCC 7.1, of no concern here.
set(CMAKE_CXX_FLAGS_INIT "${_arch_flags} -Wno-psabi")
if(EDGEATTN_RPI_SYSROOT)
  set(CMAKE_SYSROOT ${EDGEATTN_RPI_SYSROOT})
endif()

# ARMv6 Pis have one core: no OpenMP (which also has no static libgomp here).
set(EDGEATTN_OPENMP OFF CACHE BOOL "Use OpenMP")

include(${CMAKE_CURRENT_LIST_DIR}/common-cross.cmake)
edgeattn_cross_setup(${EDGEATTN_RPI_TRIPLE} qemu-arm "-cpu;arm1176")
