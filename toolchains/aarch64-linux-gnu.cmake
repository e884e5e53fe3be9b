# 64-bit ARM (ARMv8-A, NEON) with Debian's g++-aarch64-linux-gnu: Raspberry Pi
# 3/4/5 on a 64-bit OS. Tune for one core with -DEDGEATTN_ARM_CPU=cortex-a53 /
# cortex-a72 / cortex-a76 (or use rpi3-/rpi4-/rpi5-aarch64.cmake).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(_triple aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${_triple}-gcc)
set(CMAKE_CXX_COMPILER ${_triple}-g++)

set(EDGEATTN_ARM_CPU "" CACHE STRING "Core to tune for (-mcpu), empty for generic armv8-a")
if(EDGEATTN_ARM_CPU)
  set(_arch_flags "-mcpu=${EDGEATTN_ARM_CPU}")
else()
  set(_arch_flags "-march=armv8-a")
endif()
set(CMAKE_C_FLAGS_INIT "${_arch_flags}")
set(CMAKE_CXX_FLAGS_INIT "${_arch_flags}")

include(${CMAKE_CURRENT_LIST_DIR}/common-cross.cmake)
edgeattn_cross_setup(${_triple} qemu-aarch64 "")
