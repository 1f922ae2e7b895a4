#ifndef ANKER_CSQLITE_SHIM_H
#define ANKER_CSQLITE_SHIM_H

#include <sqlite3.h>

// SQLITE_TRANSIENT does not import into Swift: bind copies through this helper.
static inline int anker_sqlite_bind_blob_transient(sqlite3_stmt *statement, int index,
                                                   const void *bytes, int count) {
  return sqlite3_bind_blob(statement, index, bytes, count, SQLITE_TRANSIENT);
}
// Binds without a copy: the caller keeps the bytes valid until the statement is reset.
static inline int anker_sqlite_bind_blob_static(sqlite3_stmt *statement, int index,
                                                const void *bytes, int count) {
  return sqlite3_bind_blob(statement, index, bytes, count, SQLITE_STATIC);
}
static inline int anker_sqlite_bind_text_transient(sqlite3_stmt *statement, int index,
                                                   const char *text, int count) {
  return sqlite3_bind_text(statement, index, text, count, SQLITE_TRANSIENT);
}

#endif
