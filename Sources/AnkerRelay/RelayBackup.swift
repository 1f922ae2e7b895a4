import AnkerStore

/// `anker-relay backup` and `restore`: a consistent copy of the relay store, taken while the
/// relay runs, and its return into a fresh data directory. Backups hold ciphertext only, and
/// not the relay's key.
public enum RelayBackup {
  public static func backup(directory: String, to path: String) throws(RelayError) {
    guard FileIO.exists(directory + "/" + RelayStorage.databaseName) else {
      throw RelayError(.notFound, "no relay store in \(directory)")
    }
    do { try RelayStorage(directory: directory).backup(to: path) } catch {
      throw RelayError(.badRequest, error.message)
    }
  }

  public static func restore(from path: String, directory: String) throws(RelayError) {
    let target = directory + "/" + RelayStorage.databaseName
    guard !FileIO.exists(target) else {
      throw RelayError(
        .journalExists, "\(directory) holds a relay store already: restore into a fresh directory")
    }
    do {
      try RelayStorage.checkBackup(at: path)
      try FileIO.makePrivateDirectory(directory)
      try FileIO.replace(target, with: try FileIO.read(path))
      FileIO.syncDirectory(directory)
      _ = try RelayStorage(directory: directory)
    } catch {
      throw RelayError(.badRequest, error.message)
    }
  }
}
