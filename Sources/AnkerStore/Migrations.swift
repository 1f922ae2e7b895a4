/// The store's schema, as named migrations applied in order. **Append only**: a migration
/// that has landed is never edited or removed (a store written by it must keep opening);
/// change the schema by adding the next one. `Tests/AnkerStoreTests/Fixtures` holds a store
/// written by the first format, which a test opens.
enum Migrations {
  static let all: [(name: String, sql: String)] = [
    (
      "1-initial",
      """
      CREATE TABLE entry (
        seq INTEGER PRIMARY KEY,
        id BLOB NOT NULL UNIQUE,
        sealed BLOB NOT NULL
      );
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY REFERENCES entry(seq)
      );
      CREATE TABLE cursor (
        name TEXT PRIMARY KEY,
        sealed BLOB NOT NULL
      );
      CREATE TABLE read_log (
        seq INTEGER PRIMARY KEY,
        sealed BLOB NOT NULL
      );
      """
    )
  ]

  /// Applies the migrations `database` lacks, each in its own transaction. Refuses a store
  /// that knows a migration this version does not (written by a newer Anker).
  static func migrate(_ database: SQLiteDatabase) throws(StoreError) {
    try database.execute("CREATE TABLE IF NOT EXISTS migration (name TEXT PRIMARY KEY)")
    var applied = Set<String>()
    let query = try database.statement("SELECT name FROM migration")
    while try query.step() { applied.insert(query.text(0) ?? "") }
    query.reset()
    let known = Set(all.map(\.name))
    guard applied.isSubset(of: known) else {
      throw StoreError(
        .newerFormat, "this store was written by a newer version of Anker: update Anker to open it")
    }
    for migration in all where !applied.contains(migration.name) {
      try database.transaction { () throws(StoreError) in
        try database.execute(migration.sql)
        try database.statement("INSERT INTO migration (name) VALUES (?)").bind(1, migration.name)
          .run()
      }
    }
  }
}
