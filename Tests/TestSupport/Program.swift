import Foundation

/// A program run to its end.
public struct ProgramRun: Sendable {
  public var status: Int32
  public var stdout: Data
  public var stderr: Data

  /// stdout as text.
  public var output: String { String(decoding: stdout, as: UTF8.self) }
  /// stderr as text.
  public var errors: String { String(decoding: stderr, as: UTF8.self) }
  /// Both, stdout first: for failure messages and checks that do not mind
  /// which stream a line came on.
  public var allOutput: String { output + errors }
}

/// Runs helper programs (git, unzip, python, the built binary) for tests.
public enum Program {
  /// Runs `executable` to its end, with `input` on its stdin. stdout and
  /// stderr are read at once, so a program that fills one pipe while the
  /// test waits on the other cannot stall. `environment` replaces this
  /// process's when given.
  @discardableResult
  public static func run(
    _ executable: String, _ arguments: [String], in directory: String? = nil,
    environment: [String: String]? = nil, input: Data? = nil
  ) throws -> ProgramRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let environment { process.environment = environment }
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let errors = Collected()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) {
      errors.data = stderr.fileHandleForReading.readDataToEndOfFile()
    }
    DispatchQueue.global().async(group: group) {
      if let input { stdin.fileHandleForWriting.write(input) }
      try? stdin.fileHandleForWriting.close()
    }
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProgramRun(status: process.terminationStatus, stdout: output, stderr: errors.data)
  }

  /// Filled by one thread, read after it is done (the group's wait orders it).
  private final class Collected: @unchecked Sendable {
    var data = Data()
  }
}
