import Foundation
import ZIPFoundation

// zipfoundation-zip SOURCE-DIR DESTINATION: the same job as zipDirectory with a
// destination, done by ZIPFoundation (deflate, files only, no parent folder).
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
  FileHandle.standardError.write(Data("usage: zipfoundation-zip SOURCE-DIR DESTINATION\n".utf8))
  exit(2)
}
let source = URL(fileURLWithPath: arguments[1])
let destination = URL(fileURLWithPath: arguments[2])
try? FileManager.default.removeItem(at: destination)
do {
  try FileManager.default.zipItem(
    at: source, to: destination, shouldKeepParent: false, compressionMethod: .deflate)
} catch {
  FileHandle.standardError.write(Data("zipfoundation-zip: \(error)\n".utf8))
  exit(1)
}
