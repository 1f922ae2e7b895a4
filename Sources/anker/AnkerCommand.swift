import Anker
import ArgumentParser
import Foundation

/// `anker`: the case journal on this laptop, for outreach and shelter staff.
@main
struct AnkerCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "anker",
    abstract: "The encrypted case journal on this laptop.",
    discussion: """
      Everything you write is encrypted on this laptop before it is stored or sent. The relay \
      only passes on what it cannot read. Work offline as long as you need; `anker sync` \
      exchanges your notes with your colleagues' when there is a network.

      Getting started: a coordinator runs `anker init` and `anker sync --relay URL`; for each \
      colleague's laptop an admin runs `anker invite --name NAME`, the laptop runs \
      `anker join --relay URL` with the code, and the admin runs `anker invite accept`. Each \
      day: `anker unlock`, work, `anker sync`, `anker lock`.

      Note text is never typed on the command line: it comes from your editor or from \
      standard input. Passphrases are read from the terminal without echo, or with \
      --passphrase-fd from a file descriptor (scripts).

      Exit codes: 0 done; 1 failed; 2 the journal is locked (run `anker unlock`); 3 wrong \
      passphrase; 4 the sync stopped or the relay misbehaved (nothing was lost, run it again); \
      5 refused by the journal's rules (not an admin, no access, needs approval or consent); \
      6 not found; 64 the command was typed wrong.
      """,
    subcommands: [
      Init.self, InviteCommand.self, Join.self, Unlock.self, Lock.self, Status.self, Sync.self,
      CaseCommand.self,
      ClientCommand.self, NoteCommand.self, Risk.self, Plan.self, ConsentCommand.self,
      Export.self, Stats.self, Devices.self, Checkpoint.self, Passphrase.self, Panic.self,
      Agent.self,
    ])

  /// Runs the command, turning every failure into `anker: error:` / `anker: hint:` lines
  /// and a documented exit code.
  static func main() async {
    var command: any ParsableCommand
    do { command = try parseAsRoot() } catch { reportUsage(error) }
    do {
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch let error as ExitCode {
      Foundation.exit(error.rawValue)
    } catch let error as ValidationError {
      // Thrown while running: the command was typed, but a value does not fit.
      fail(
        CLIError(
          error.message, hint: "add --help to the command to see what it takes",
          code: .validationFailure))
    } catch let error as CLIError {
      fail(error)
    } catch let error as JournalError {
      fail(error)
    } catch {
      // Help requested through a subcommand, and anything else the parser raises.
      reportUsage(error)
    }
  }

  /// Help goes to stdout; a command typed wrong gets `anker: error:` and exit code 64.
  static func reportUsage(_ error: any Error) -> Never {
    let code = exitCode(for: error)
    let message = fullMessage(for: error)
    if code == .success {
      print(message)
      Foundation.exit(0)
    }
    var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if let first = lines.first {
      lines[0] =
        "anker: error: " + (first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first)
    }
    FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    Foundation.exit(code.rawValue)
  }
}
