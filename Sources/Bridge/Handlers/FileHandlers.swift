import BridgeProtocol
import JSONRPC
import Workspace

/// listFiles, selectFile, zipDirectory: the workspace's files, each path
/// resolved inside the conversation's workspace by `WorkspaceRoot`.
enum FileHandlers {
  static func register(into table: inout HandlerTable) {
    table.work(ListFilesRequest.self) { params, scope in
      let root = WorkspaceRoot(realPath: scope.conversation.workspace)
      do {
        guard params.recursive else {
          return ListFilesRequest.Result(
            try FileListing.list(root: root, path: params.path, git: scope.conversation.git))
        }
        let progress = scope.context.workDoneProgress(title: "Listing files")
        defer { progress?.end() }
        let files = try FileListing.listRecursive(
          root: root, path: params.path, git: scope.conversation.git,
          progress: { progress?.report(message: "\($0) files") },
          isCancelled: { Task.isCancelled })
        return ListFilesRequest.Result(files)
      } catch is PathError {
        throw BridgeError.outsideWorkspace(params.path ?? "")
      }
    }

    table.work(SelectFileRequest.self) { params, scope in
      let root = WorkspaceRoot(realPath: scope.conversation.workspace)
      switch FileReading.content(root: root, path: params.file, maxBytes: scope.options.maxFileBytes) {
      case .success(.text(let bytes)):
        // Validated, line ends folded and escaped in one pass, as the
        // contract's text: the same bytes as `FileReading.text(from:)`
        // written by JSONWriter.
        guard let code = EncodedString(validating: bytes, foldingLineEnds: true) else {
          throw responseError(.notUTF8, path: params.file)
        }
        return .text(code)
      case .success(.dataURL(let url)):
        return .dataURL(url)
      case .failure(let error):
        throw responseError(error, path: params.file)
      }
    }

    table.work(ZipDirectoryRequest.self) { params, scope in
      let root = WorkspaceRoot(realPath: scope.conversation.workspace)
      var options = ZipOptions()
      options.compression = params.compression == "store" ? .store : .deflate
      options.exclude = GitignorePatterns(params.exclude)
      let progress = scope.context.workDoneProgress(title: "Zipping workspace")
      defer { progress?.end() }
      let report: @Sendable (ZipProgress) -> Void = { done in
        progress?.report(message: "\(done.files) files, \(done.bytes) bytes")
      }
      do {
        if let destination = params.destination {
          let result = try await ZipArchiver.write(
            root: root, path: params.path, options: options, destination: destination, progress: report)
          return .written(
            path: result.path, .init(bytes: result.bytes, entries: result.entries, skipped: result.skipped),
            sha256: result.sha256)
        }
        if let output = scope.context.output {
          // A transport that streams (HTTP): the archive leaves as it is
          // written, whatever its size; the result is only the summary.
          var sink = OutputZipSink(output: output)
          let summary = try await ZipArchiver.write(
            root: root, path: params.path, options: options, to: &sink, progress: report)
          return .streamed(.init(summary))
        }
        // One at a time, and a batch's archives together within one
        // archive's limit: the batch reply holds them all until the last.
        return try await scope.dispatcher.inlineArchives.withTurn { () async throws -> ZipDirectoryRequest.Result in
          let share = scope.context.replyShare
          let limit = scope.options.maxInlineBytes
          let taken = share?.bytes ?? 0
          guard taken < limit else { throw batchShareSpent(limit) }
          var sink = Base64ZipSink(limit: limit - taken)
          let summary: ZipSummary
          do {
            summary = try await ZipArchiver.write(
              root: root, path: params.path, options: options, to: &sink, progress: report)
          } catch ZipError.tooLarge where taken > 0 {
            throw batchShareSpent(limit)
          }
          share?.take(sink.byteCount)
          return .inline(.init(summary), data: sink.finish())
        }
      } catch let error as ZipError {
        throw responseError(error, path: params.path ?? "", destination: params.destination)
      }
    }
  }

  /// The error for an inline archive that does not fit beside the others
  /// of its batch.
  static func batchShareSpent(_ limit: Int) -> ResponseError {
    BridgeError.tooLarge(
      "Archive too large to return inline: with the other archives of this batch it is over \(limit) bytes;"
        + " pass a destination, or ask for it in a request of its own")
  }

  /// The contract's error for a read failure, naming the path as the client gave it.
  static func responseError(_ error: ReadError, path: String) -> ResponseError {
    switch error {
    case .outsideWorkspace: BridgeError.outsideWorkspace(path)
    case .notFound: BridgeError.fileNotFound(path)
    case .isDirectory: BridgeError.isDirectory(path)
    case .notRegularFile: BridgeError.notRegularFile(path)
    case .binary: BridgeError.binaryFile(path)
    case .notUTF8: BridgeError.notUTF8(path)
    case .tooLarge(let size, let limit):
      BridgeError.tooLarge("File too large: \(path) (\(size) bytes; the limit is \(limit) bytes)")
    case .unreadable(let reason): BridgeError.internalError("Error opening file: \(path): \(reason)")
    }
  }

  static func responseError(_ error: ZipError, path: String, destination: String?) -> ResponseError {
    switch error {
    case .outsideWorkspace: BridgeError.outsideWorkspace(path)
    case .notFound: BridgeError.fileNotFound(path)
    case .notDirectory: BridgeError.notRegularFile(path).withMessage("Path is not a directory: \(path)")
    case .tooLarge(let limit):
      BridgeError.tooLarge(
        "Archive too large to return inline (over \(limit) bytes); pass a destination to write it to a file")
    case .destination(let reason):
      BridgeError.invalidParams(
        field: "destination", type: "value_error", message: reason, input: destination.map { .string($0) } ?? .null)
    case .destinationNotRegularFile:
      BridgeError.notRegularFile(destination ?? "")
        .withMessage(
          "Destination is not a regular file: \(destination ?? ""); an archive replaces only a regular file or nothing")
    case .io(let reason): BridgeError.internalError("Error zipping workspace: \(reason)")
    }
  }
}

extension ResponseError {
  /// The same error with another message (and the HTTP body's `error` to match).
  fileprivate func withMessage(_ message: String) -> ResponseError {
    var copy = self
    copy.message = message
    if case .object(var data)? = copy.data {
      data["body"] = ["error": .string(message)]
      copy.data = .object(data)
    }
    return copy
  }
}

extension ZipDirectoryRequest.Summary {
  init(_ summary: ZipSummary) { self.init(bytes: summary.bytes, entries: summary.entries, skipped: summary.skipped) }
}

/// The archive's bytes into the request's stream output (an HTTP body),
/// each write waiting until the reader has taken the chunk.
struct OutputZipSink: ZipSink {
  let output: any ByteStreamOutput

  mutating func write(_ bytes: [UInt8]) async throws {
    try await output.write(bytes)
  }
}
