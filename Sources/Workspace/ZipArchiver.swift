import Support
import CZlib

/// Where an archive's bytes go, in order, as they are produced: a file, a
/// buffer, or an HTTP response body.
///
/// `write` is called from one task at a time, never concurrently, with
/// chunks of up to a few hundred KiB; the archiver waits for each call to
/// return before producing more, so a slow sink (a slow HTTP client) slows
/// the archiver down instead of growing its memory. Throwing from `write`
/// (the client went away) stops the archiver with that error.
///
/// An HTTP adapter wraps its body writer, for example:
///
///     struct BodySink: ZipSink {
///       var writer: any ResponseBodyWriter
///       mutating func write(_ bytes: [UInt8]) async throws {
///         try await writer.write(ByteBuffer(bytes: bytes))
///       }
///     }
///     var sink = BodySink(writer: writer)
///     _ = try await ZipArchiver.write(root: root, path: nil, options: ZipOptions(), to: &sink)
///     try await sink.writer.finish(nil)
public protocol ZipSink {
  mutating func write(_ bytes: [UInt8]) async throws
}

/// Why an archive could not be made.
public enum ZipError: Error, Sendable, Equatable {
  case outsideWorkspace  // -32014
  case notFound  // -32010
  case notDirectory  // -32013
  /// The in-memory sink's limit was passed: -32015.
  case tooLarge(limit: Int)
  /// The destination could not be written: -32603 (or -32602 for a bad directory).
  case destination(String)
  /// The destination exists and is not a regular file (a device, FIFO,
  /// socket, directory or symlink), which an archive never replaces: -32013.
  case destinationNotRegularFile
  case io(String)
}

/// How to archive.
public struct ZipOptions: Sendable {
  public enum Compression: String, Sendable { case deflate, store }

  public var compression: Compression = .deflate
  /// zlib level for deflate. 4, not zip's 6: on source text it costs ~2%
  /// in size and saves ~25% of the CPU time (measured in bench/run.py).
  public var level: Int32 = 4
  /// gitignore-style patterns matched against entry names.
  public var exclude = GitignorePatterns([])
  /// Files never archived, by device and inode: the archive being written.
  public var excludedFiles: [(device: UInt64, inode: UInt64)] = []
  /// Entries compressed at once: one per core.
  public var parallelism = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
  /// Files above this are compressed in slices of this size, in parallel,
  /// each primed with the 32 KiB before it (as pigz does), so that one big
  /// file neither serialises the work nor sits in memory whole.
  public var sliceSize = 1 << 20

  public init() {}
}

/// What an archive holds.
public struct ZipSummary: Sendable, Equatable {
  public var entries: Int
  public var skipped: Int
  /// The archive's size.
  public var bytes: UInt64
}

/// Files and bytes archived so far, for `$/progress`.
public struct ZipProgress: Sendable {
  public var files: Int
  public var bytes: UInt64
}

/// zipDirectory: a streaming ZIP writer over zlib.
///
/// The walk runs in the calling task and opens files (never FIFOs: they are
/// skipped from their directory entry, and every open is `O_NONBLOCK`).
/// Reading and compressing run in child tasks, a bounded window of them at
/// once, so both cores work; results are written in walk order, so the
/// archive is the same whatever the timing. Small files are batched into
/// one task; big ones are split into slices. Memory stays within the
/// window (a few MiB per core) plus one central-directory record per entry.
public enum ZipArchiver {
  public static func write<Sink: ZipSink>(
    root: WorkspaceRoot, path: String?, options: ZipOptions, to sink: inout Sink,
    progress: @escaping @Sendable (ZipProgress) -> Void = { _ in }
  ) async throws -> ZipSummary {
    let lookup: Lookup
    do {
      lookup = try root.lookup(path ?? "")
    } catch {
      throw ZipError.outsideWorkspace
    }
    let item: WorkspaceItem
    switch lookup {
    case .found(let found): item = found
    case .missing: throw ZipError.notFound
    case .failed(let failure): throw ZipError.io(failure.message)
    }
    guard item.kind == .directory else { throw ZipError.notDirectory }
    guard case .success(let directory) = item.openDirectory() else { throw ZipError.io("cannot read directory") }
    var walker = ZipWalker(root: root, top: directory, relative: item.relative.text, options: options)
    var writer = ZipStreamWriter(sink: sink, options: options, progress: progress)
    do {
      try await writer.run(&walker)
    } catch {
      sink = writer.sink
      throw error
    }
    sink = writer.sink
    return ZipSummary(
      entries: writer.records.count, skipped: walker.skipped + writer.unreadable, bytes: writer.offset)
  }
}

/// A file to archive, opened by the walk.
struct ZipFile: Sendable {
  var name: [UInt8]
  var descriptor: FileDescriptor
  var size: Int
  var mode: UInt32
  var modified: Int
}

/// The depth-first walk in entry order: each directory's names sorted
/// bytewise with `/` after directory names, so entries come out in
/// code-point path order.
struct ZipWalker {
  struct Frame {
    var directory: FileDescriptor
    var listing: DirectoryReader.SortedNames
    var index = 0
    /// Entry-name prefix (relative to the zipped directory), `/`-terminated.
    var prefix: [UInt8]
    /// The directory relative to the workspace root, for symlink lookups.
    var relative: String
  }

  let root: WorkspaceRoot
  let options: ZipOptions
  var stack: [Frame] = []
  private(set) var skipped = 0

  init(root: WorkspaceRoot, top: FileDescriptor, relative: String, options: ZipOptions) {
    self.root = root
    self.options = options
    push(top, prefix: [], relative: relative)
  }

  private mutating func push(_ directory: FileDescriptor, prefix: [UInt8], relative: String) {
    guard let listing = DirectoryReader.sortedNames(of: directory) else {
      skipped += 1
      return
    }
    stack.append(Frame(directory: directory, listing: listing, prefix: prefix, relative: relative))
  }

  /// The next file to archive, or nil at the end. Entries that are not
  /// archived (excluded, skipped, directories) can run to millions before
  /// the next file, so cancellation is checked between them too.
  mutating func next() throws -> ZipFile? {
    while let frame = stack.last {
      try Task.checkCancellation()
      guard frame.index < frame.listing.entries.count else {
        stack.removeLast()
        continue
      }
      let entry = frame.listing.entries[frame.index]
      stack[stack.count - 1].index += 1
      let bare = Array(frame.listing.name(entry))
      let name = frame.prefix + bare
      let isDirectory = entry.kind == .directory
      if !options.exclude.isEmpty && options.exclude.matches(name, isDirectory: isDirectory) { continue }
      switch entry.kind {
      case .directory:
        guard let child = DirectoryReader.openChild(of: frame.directory, bare) else {
          skipped += 1
          continue
        }
        push(child, prefix: name + [0x2F], relative: FileListing.join(frame.relative, String(decoding: bare, as: UTF8.self)))
      case .file:
        let (descriptor, _) = DirectoryReader.openFile(in: frame.directory, bare)
        guard let descriptor, let file = regularFile(name, descriptor) else {
          skipped += 1
          continue
        }
        if isExcludedFile(file.descriptor) { continue }
        return file
      case .symlink:
        // Stored with the target's content when the target is a file inside
        // the workspace; directories are not descended; anything else is
        // skipped and counted.
        let path = FileListing.join(frame.relative, String(decoding: bare, as: UTF8.self))
        guard let target = root.linkTarget(path) else {
          skipped += 1
          continue
        }
        if target.kind == .directory { continue }
        guard target.kind == .regular, case .success(let descriptor) = target.openForReading(),
          let file = regularFile(name, descriptor)
        else {
          skipped += 1
          continue
        }
        if isExcludedFile(file.descriptor) { continue }
        return file
      case .other:
        skipped += 1
      }
    }
    return nil
  }

  private func regularFile(_ name: [UInt8], _ descriptor: FileDescriptor) -> ZipFile? {
    guard let info = descriptor.status(), FileKind(mode: info.st_mode) == .regular else { return nil }
    return ZipFile(
      name: name, descriptor: descriptor, size: Int(info.st_size), mode: UInt32(info.st_mode),
      modified: Int(info.st_mtim.tv_sec))
  }

  private func isExcludedFile(_ descriptor: FileDescriptor) -> Bool {
    guard !options.excludedFiles.isEmpty, let info = descriptor.status() else { return false }
    return options.excludedFiles.contains { $0.device == UInt64(info.st_dev) && $0.inode == UInt64(info.st_ino) }
  }
}

/// One slice of one file: all of a small file, or `sliceSize` bytes of a big one.
struct FileSlice: Sendable {
  var file: ZipFile
  var entry: Int
  var offset: Int
  var length: Int
  var isFirst: Bool
  var isLast: Bool
}

/// A slice read and compressed.
struct CompressedSlice: Sendable {
  var data: [UInt8]
  var crc: UInt32
  var rawLength: Int
  /// Stored rather than deflated (store mode, or deflate did not help).
  var stored: Bool
  /// The file could not be read.
  var failed: Bool
}

/// Consumes the walk, schedules compression, and writes in order.
struct ZipStreamWriter<Sink: ZipSink> {
  var sink: Sink
  let options: ZipOptions
  let progress: @Sendable (ZipProgress) -> Void
  private(set) var records: [ZipEntryRecord] = []
  /// Bytes written to the sink (and buffered for it) so far.
  private(set) var offset: UInt64 = 0
  /// Files that failed to read after the walk opened them.
  private(set) var unreadable = 0
  private var buffer: [UInt8] = []
  private var bytesIn: UInt64 = 0

  static var bufferSize: Int { 256 << 10 }
  static var batchFiles: Int { 64 }

  init(sink: Sink, options: ZipOptions, progress: @escaping @Sendable (ZipProgress) -> Void) {
    self.sink = sink
    self.options = options
    self.progress = progress
    buffer.reserveCapacity(Self.bufferSize)
  }

  private struct CompressionTask {
    var slices: [FileSlice]
    var task: Task<[CompressedSlice], Never>
    var bytes: Int
  }

  /// The entry whose slices are being written.
  private struct Current {
    var record: ZipEntryRecord
    var skipping: Bool
  }

  mutating func run(_ walker: inout ZipWalker) async throws {
    var window = CompressionWindow(
      sliceSize: options.sliceSize, maxTasks: options.parallelism * 2,
      maxBytes: max(options.parallelism, 2) * 4 * options.sliceSize, maxBatchFiles: Self.batchFiles,
      compression: options.compression, level: options.level)
    defer { window.cancelAll() }
    var current: Current?
    while !window.isDone {
      try Task.checkCancellation()
      try window.fill(from: &walker)
      guard let oldest = window.takeOldest() else { continue }
      let outputs = await oldest.task.value
      try Task.checkCancellation()
      for (slice, output) in zip(oldest.slices, outputs) {
        try await write(slice, output, &current)
      }
    }
    try await finish()
  }

  /// The walk's slices in order, batched into compression tasks: at most
  /// `maxTasks` tasks and `maxBytes` bytes in flight, so that memory and
  /// open descriptors stay bounded however big the tree.
  private struct CompressionWindow {
    let sliceSize: Int
    let maxTasks: Int
    let maxBytes: Int
    let maxBatchFiles: Int
    let compression: ZipOptions.Compression
    let level: Int32
    private var queue: [CompressionTask] = []
    private var bytesInFlight = 0
    private var batch: [FileSlice] = []
    private var batchBytes = 0
    /// The file whose slices are being queued, and its next slice: a big
    /// file is queued slice by slice as the window allows, never at once.
    private var pending: (file: ZipFile, sliceCount: Int, next: Int, entry: Int)?
    private var entryCount = 0
    private var exhausted = false

    init(
      sliceSize: Int, maxTasks: Int, maxBytes: Int, maxBatchFiles: Int, compression: ZipOptions.Compression,
      level: Int32
    ) {
      self.sliceSize = sliceSize
      self.maxTasks = maxTasks
      self.maxBytes = maxBytes
      self.maxBatchFiles = maxBatchFiles
      self.compression = compression
      self.level = level
    }

    var isDone: Bool { exhausted && batch.isEmpty && queue.isEmpty }

    private var hasRoom: Bool { queue.count < maxTasks && bytesInFlight < maxBytes }

    /// Queues the walk's next slices until the window is full or the walk
    /// has ended.
    mutating func fill(from walker: inout ZipWalker) throws {
      while !exhausted && hasRoom {
        if pending == nil {
          guard let file = try walker.next() else {
            exhausted = true
            break
          }
          let sliceCount = max(1, (file.size + sliceSize - 1) / sliceSize)
          pending = (file: file, sliceCount: sliceCount, next: 0, entry: entryCount)
          entryCount += 1
        }
        while var next = pending, hasRoom {
          let start = next.next * sliceSize
          add(
            FileSlice(
              file: next.file, entry: next.entry, offset: start, length: min(sliceSize, next.file.size - start),
              isFirst: next.next == 0, isLast: next.next == next.sliceCount - 1))
          next.next += 1
          pending = next.next == next.sliceCount ? nil : next
        }
      }
      // A partial batch goes when nothing else would send it: the walk has
      // ended, or no task is left to wait for.
      if !batch.isEmpty && (exhausted || queue.isEmpty) { launchBatch() }
    }

    /// A batch holds up to a slice's worth of bytes, and few enough files
    /// that the window's open descriptors stay in the hundreds.
    private mutating func add(_ slice: FileSlice) {
      if !batch.isEmpty && (batchBytes + slice.length > sliceSize || batch.count >= maxBatchFiles) { launchBatch() }
      batch.append(slice)
      batchBytes += slice.length
    }

    private mutating func launchBatch() {
      let slices = batch
      let compression = compression
      let level = level
      queue.append(
        CompressionTask(
          slices: slices, task: Task { SliceCompressor.run(slices, compression: compression, level: level) },
          bytes: batchBytes))
      bytesInFlight += batchBytes
      batch = []
      batchBytes = 0
    }

    /// The oldest task, dropped from the window before its output is
    /// written: a finished task holds its output as long as anything holds
    /// the task.
    mutating func takeOldest() -> CompressionTask? {
      guard !queue.isEmpty else { return nil }
      let oldest = queue.removeFirst()
      bytesInFlight -= oldest.bytes
      return oldest
    }

    func cancelAll() {
      for waiting in queue { waiting.task.cancel() }
    }
  }

  private mutating func write(_ slice: FileSlice, _ output: CompressedSlice, _ current: inout Current?) async throws {
    if slice.isFirst {
      let (time, date) = ZipFormat.dosDateTime(slice.file.modified)
      let single = slice.isLast
      let zip64 = !single && UInt64(slice.file.size) >= ZipFormat.zip64SizeThreshold
      var flags = ZipFormat.nameFlags(slice.file.name)
      if !single { flags |= ZipFormat.flagDataDescriptor }
      let method = single ? (output.stored ? ZipFormat.methodStore : ZipFormat.methodDeflate)
        : (options.compression == .store ? ZipFormat.methodStore : ZipFormat.methodDeflate)
      current = Current(
        record: ZipEntryRecord(
          name: slice.file.name, flags: flags, method: method, dosTime: time, dosDate: date, crc: output.crc,
          compressedSize: UInt64(output.data.count), uncompressedSize: UInt64(output.rawLength),
          localHeaderOffset: offset, mode: slice.file.mode & 0o177777, zip64Sizes: zip64),
        skipping: output.failed)
      if output.failed {
        // Unreadable: nothing of it has been written; skip it whole.
        unreadable += 1
        if slice.isLast { current = nil }
        return
      }
      try await emit(ZipFormat.localHeader(current!.record, descriptor: !single))
    } else if var entry = current, !entry.skipping {
      entry.record.crc = UInt32(
        crc32_combine(uLong(entry.record.crc), uLong(output.crc), off_t(output.rawLength)))
      entry.record.compressedSize += UInt64(output.data.count)
      entry.record.uncompressedSize += UInt64(output.rawLength)
      current = entry
    }
    guard let entry = current, !entry.skipping else {
      if slice.isLast { current = nil }
      return
    }
    try await emit(output.data)
    bytesIn += UInt64(output.rawLength)
    if slice.isLast {
      if !slice.isFirst { try await emit(ZipFormat.dataDescriptor(entry.record)) }
      records.append(entry.record)
      current = nil
      progress(ZipProgress(files: records.count, bytes: bytesIn))
    }
  }

  private mutating func finish() async throws {
    let directoryOffset = offset
    var directory: [UInt8] = []
    directory.reserveCapacity(Self.bufferSize)
    for record in records {
      ZipFormat.centralHeader(record, into: &directory)
      if directory.count >= Self.bufferSize {
        try await emit(directory)
        directory.removeAll(keepingCapacity: true)
      }
    }
    try await emit(directory)
    let directorySize = offset - directoryOffset
    try await emit(
      ZipFormat.end(
        entryCount: UInt64(records.count), directoryOffset: directoryOffset, directorySize: directorySize))
    try await flush()
  }

  private mutating func emit(_ bytes: [UInt8]) async throws {
    offset += UInt64(bytes.count)
    if bytes.count >= Self.bufferSize / 4 {
      try await flush()
      try await sink.write(bytes)
      return
    }
    buffer.append(contentsOf: bytes)
    if buffer.count >= Self.bufferSize { try await flush() }
  }

  private mutating func flush() async throws {
    guard !buffer.isEmpty else { return }
    let chunk = buffer
    buffer = []
    buffer.reserveCapacity(Self.bufferSize)
    try await sink.write(chunk)
  }
}

/// Reads and compresses a batch of slices on one thread with one zlib
/// stream (reset between slices: a deflate state costs ~300 KiB to set up).
enum SliceCompressor {
  static let dictionarySize = 32 << 10

  static func run(_ slices: [FileSlice], compression: ZipOptions.Compression, level: Int32) -> [CompressedSlice] {
    var stream = z_stream()
    var ready = false
    if compression == .deflate {
      ready =
        deflateInit2_(
          &stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        == Z_OK
    }
    defer { if ready { deflateEnd(&stream) } }
    var outputs: [CompressedSlice] = []
    outputs.reserveCapacity(slices.count)
    let largest = slices.map(\.length).max() ?? 0
    var input = [UInt8](repeating: 0, count: largest + dictionarySize)
    for slice in slices {
      if Task.isCancelled {
        outputs.append(CompressedSlice(data: [], crc: 0, rawLength: 0, stored: true, failed: true))
        continue
      }
      let dictionary = ready && slice.offset > 0 ? min(dictionarySize, slice.offset) : 0
      let (count, failed) = read(slice, dictionary: dictionary, into: &input)
      let crc = input.withUnsafeBufferPointer { buffer in
        UInt32(crc32(0, buffer.baseAddress! + dictionary, uInt(count)))
      }
      let single = slice.isFirst && slice.isLast
      if !ready || (failed && single) {
        outputs.append(
          CompressedSlice(
            data: Array(input[dictionary..<(dictionary + count)]), crc: crc, rawLength: count, stored: true,
            failed: failed && slice.isFirst))
        continue
      }
      let data = deflate(&stream, input, dictionary: dictionary, count: count, finish: slice.isLast)
      if single && data.count >= count {
        // Incompressible: stored is smaller.
        outputs.append(
          CompressedSlice(
            data: Array(input[0..<count]), crc: crc, rawLength: count, stored: true, failed: false))
      } else {
        outputs.append(CompressedSlice(data: data, crc: crc, rawLength: count, stored: false, failed: failed && slice.isFirst))
      }
    }
    return outputs
  }

  /// Reads the slice, preceded by `dictionary` bytes of what comes before it.
  /// A file that shrank gives fewer bytes; a read error gives what was read.
  static func read(_ slice: FileSlice, dictionary: Int, into buffer: inout [UInt8]) -> (count: Int, failed: Bool) {
    let wanted = dictionary + slice.length
    var filled = 0
    var failed = false
    buffer.withUnsafeMutableBytes { raw in
      while filled < wanted {
        let got = retryOnInterrupt {
          pread(
            slice.file.descriptor.raw, raw.baseAddress! + filled, wanted - filled,
            off_t(slice.offset - dictionary + filled))
        }
        if got < 0 {
          failed = true
          break
        }
        if got == 0 { break }
        filled += got
      }
    }
    return (max(0, filled - dictionary), failed || filled < dictionary)
  }

  static func deflate(
    _ stream: inout z_stream, _ input: [UInt8], dictionary: Int, count: Int, finish: Bool
  ) -> [UInt8] {
    deflateReset(&stream)
    var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(count))) + 64)
    var produced = 0
    input.withUnsafeBufferPointer { source in
      let base = UnsafeMutablePointer(mutating: source.baseAddress!)
      if dictionary > 0 { deflateSetDictionary(&stream, base, uInt(dictionary)) }
      stream.next_in = base + dictionary
      stream.avail_in = uInt(count)
      while true {
        if produced == output.count { output.append(contentsOf: repeatElement(0, count: 64 << 10)) }
        let status = output.withUnsafeMutableBufferPointer { target -> Int32 in
          stream.next_out = target.baseAddress! + produced
          stream.avail_out = uInt(target.count - produced)
          let status = CZlib.deflate(&stream, finish ? Z_FINISH : Z_SYNC_FLUSH)
          produced = target.count - Int(stream.avail_out)
          return status
        }
        if finish ? status == Z_STREAM_END : (status == Z_OK && stream.avail_out > 0 && stream.avail_in == 0) {
          break
        }
        if status != Z_OK && status != Z_BUF_ERROR && status != Z_STREAM_END { break }
      }
    }
    output.removeSubrange(produced...)
    return output
  }
}
