# Raspberry Pi 4 (Cortex-A72) on a 64-bit OS.
set(EDGEATTN_ARM_CPU cortex-a72 CACHE STRING "Core to tune for (-mcpu)")
include(${CMAKE_CURRENT_LIST_DIR}/aarch64-linux-gnu.cmake)
