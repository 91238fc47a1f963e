/// What selectFile shows of a file.
public enum FileContent: Sendable, Equatable {
  /// Bytes that are not binary, as read: checking their UTF-8 and folding
  /// their line ends is left to the one pass that also escapes them for the
  /// reply (`EncodedString`), or to `FileReading.text(from:)`.
  case text([UInt8])
  /// Known media as a `data:` URL.
  case dataURL(String)
}
