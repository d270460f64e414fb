# Crypto glue over mbedTLS (tp_mbedcrypto): built into both images and keel_core_host.
set(KEEL_CRYPTO_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/arena.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ecdsa.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hmac.cpp
  ${CMAKE_CURRENT_LIST_DIR}/selftest.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sha2.cpp
  ${CMAKE_CURRENT_LIST_DIR}/x25519.cpp
)
