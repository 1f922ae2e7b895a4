#ifndef ANKER_CSODIUM_SHIM_H
#define ANKER_CSODIUM_SHIM_H

#include <sodium.h>

// Macros that do not import into Swift, as functions.
static inline size_t anker_box_sealbytes(void) { return crypto_box_SEALBYTES; }
static inline size_t anker_aead_xchacha_abytes(void) {
  return crypto_aead_xchacha20poly1305_ietf_ABYTES;
}

#endif
