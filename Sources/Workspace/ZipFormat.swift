/// The byte layout of a ZIP archive (PKWARE APPNOTE 6.3.x): local headers,
/// data descriptors, the central directory and its end records, with ZIP64
/// where a size, an offset or the entry count does not fit.
enum ZipFormat {
  static let localHeaderSignature: UInt32 = 0x0403_4B50
  static let dataDescriptorSignature: UInt32 = 0x0807_4B50
  static let centralHeaderSignature: UInt32 = 0x0201_4B50
  static let zip64EndSignature: UInt32 = 0x0606_4B50
  static let zip64LocatorSignature: UInt32 = 0x0706_4B50
  static let endSignature: UInt32 = 0x0605_4B50

  /// Bit 3: sizes and CRC follow the data. Bit 11: the name is UTF-8.
  static let flagDataDescriptor: UInt16 = 1 << 3
  static let flagUTF8: UInt16 = 1 << 11

  static let methodStore: UInt16 = 0
  static let methodDeflate: UInt16 = 8

  /// Entries at least this large get ZIP64 sizes from the start; deflate can
  /// grow incompressible data a little, so keep a margin below 4 GiB.
  static let zip64SizeThreshold: UInt64 = 0xFFFF_0000
  static let max32: UInt64 = 0xFFFF_FFFF
}

/// What the central directory needs to know about one written entry.
struct ZipEntryRecord {
  var name: [UInt8]
  var flags: UInt16
  var method: UInt16
  var dosTime: UInt16
  var dosDate: UInt16
  var crc: UInt32
  var compressedSize: UInt64
  var uncompressedSize: UInt64
  var localHeaderOffset: UInt64
  /// Unix mode bits, stored in the external attributes.
  var mode: UInt32
  /// Whether the local header already declared ZIP64 sizes.
  var zip64Sizes: Bool
}

/// Little-endian appends.
extension [UInt8] {
  mutating func le16(_ value: UInt16) {
    append(UInt8(truncatingIfNeeded: value))
    append(UInt8(truncatingIfNeeded: value >> 8))
  }

  mutating func le32(_ value: UInt32) {
    for shift in stride(from: 0, to: 32, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
  }

  mutating func le64(_ value: UInt64) {
    for shift in stride(from: 0, to: 64, by: 8) { append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
  }
}

extension ZipFormat {
  static func versionNeeded(zip64: Bool, method: UInt16) -> UInt16 {
    zip64 ? 45 : (method == methodDeflate ? 20 : 10)
  }

  /// A local file header. With `descriptor` the CRC and sizes are zero and
  /// follow the data; with `zip64Sizes` a ZIP64 extra field carries them.
  static func localHeader(
    _ record: ZipEntryRecord, descriptor: Bool
  ) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(30 + record.name.count + 20)
    out.le32(localHeaderSignature)
    out.le16(versionNeeded(zip64: record.zip64Sizes, method: record.method))
    out.le16(record.flags)
    out.le16(record.method)
    out.le16(record.dosTime)
    out.le16(record.dosDate)
    out.le32(descriptor ? 0 : record.crc)
    if record.zip64Sizes {
      out.le32(UInt32(max32))
      out.le32(UInt32(max32))
    } else {
      out.le32(descriptor ? 0 : UInt32(record.compressedSize))
      out.le32(descriptor ? 0 : UInt32(record.uncompressedSize))
    }
    out.le16(UInt16(record.name.count))
    out.le16(record.zip64Sizes ? 20 : 0)
    out.append(contentsOf: record.name)
    if record.zip64Sizes {
      out.le16(0x0001)
      out.le16(16)
      out.le64(descriptor ? 0 : record.uncompressedSize)
      out.le64(descriptor ? 0 : record.compressedSize)
    }
    return out
  }

  /// The data descriptor after an entry's data (8-byte sizes with ZIP64).
  static func dataDescriptor(_ record: ZipEntryRecord) -> [UInt8] {
    var out: [UInt8] = []
    out.le32(dataDescriptorSignature)
    out.le32(record.crc)
    if record.zip64Sizes {
      out.le64(record.compressedSize)
      out.le64(record.uncompressedSize)
    } else {
      out.le32(UInt32(record.compressedSize))
      out.le32(UInt32(record.uncompressedSize))
    }
    return out
  }

  /// A central directory header; the ZIP64 extra field holds exactly the
  /// values that do not fit, in the order the format requires.
  static func centralHeader(_ record: ZipEntryRecord, into out: inout [UInt8]) {
    var extra: [UInt8] = []
    let bigUncompressed = record.uncompressedSize >= max32 || record.zip64Sizes
    let bigCompressed = record.compressedSize >= max32 || record.zip64Sizes
    let bigOffset = record.localHeaderOffset >= max32
    if bigUncompressed { extra.le64(record.uncompressedSize) }
    if bigCompressed { extra.le64(record.compressedSize) }
    if bigOffset { extra.le64(record.localHeaderOffset) }
    let zip64 = !extra.isEmpty
    let version = versionNeeded(zip64: zip64, method: record.method)
    out.le32(centralHeaderSignature)
    out.le16(3 << 8 | version)  // made by: Unix
    out.le16(version)
    out.le16(record.flags)
    out.le16(record.method)
    out.le16(record.dosTime)
    out.le16(record.dosDate)
    out.le32(record.crc)
    out.le32(bigCompressed ? UInt32(max32) : UInt32(record.compressedSize))
    out.le32(bigUncompressed ? UInt32(max32) : UInt32(record.uncompressedSize))
    out.le16(UInt16(record.name.count))
    out.le16(zip64 ? UInt16(4 + extra.count) : 0)
    out.le16(0)  // comment
    out.le16(0)  // disk
    out.le16(0)  // internal attributes
    out.le32(record.mode << 16)
    out.le32(bigOffset ? UInt32(max32) : UInt32(record.localHeaderOffset))
    out.append(contentsOf: record.name)
    if zip64 {
      out.le16(0x0001)
      out.le16(UInt16(extra.count))
      out.append(contentsOf: extra)
    }
  }

  /// The end records: ZIP64 end record and locator when anything overflows
  /// the classic fields, then the classic end record.
  static func end(entryCount: UInt64, directoryOffset: UInt64, directorySize: UInt64) -> [UInt8] {
    var out: [UInt8] = []
    let zip64 = entryCount >= 0xFFFF || directoryOffset >= max32 || directorySize >= max32
    if zip64 {
      let zip64EndOffset = directoryOffset + directorySize
      out.le32(zip64EndSignature)
      out.le64(44)  // size of the rest of this record
      out.le16(3 << 8 | 45)
      out.le16(45)
      out.le32(0)
      out.le32(0)
      out.le64(entryCount)
      out.le64(entryCount)
      out.le64(directorySize)
      out.le64(directoryOffset)
      out.le32(zip64LocatorSignature)
      out.le32(0)
      out.le64(zip64EndOffset)
      out.le32(1)
    }
    out.le32(endSignature)
    out.le16(0)
    out.le16(0)
    let count16 = UInt16(min(entryCount, 0xFFFF))
    out.le16(count16)
    out.le16(count16)
    out.le32(UInt32(min(directorySize, max32)))
    out.le32(UInt32(min(directoryOffset, max32)))
    out.le16(0)  // comment length
    return out
  }

  /// MS-DOS date and time (local time, 2-second resolution, 1980 at the earliest).
  static func dosDateTime(_ seconds: Int) -> (time: UInt16, date: UInt16) {
    var clock = time_t(seconds)
    var parts = tm()
    guard localtime_r(&clock, &parts) != nil, parts.tm_year >= 80 else { return (0, 0x21) }
    let time = UInt16(parts.tm_hour) << 11 | UInt16(parts.tm_min) << 5 | UInt16(parts.tm_sec / 2)
    let date = UInt16(min(parts.tm_year - 80, 127)) << 9 | UInt16(parts.tm_mon + 1) << 5 | UInt16(parts.tm_mday)
    return (time, date)
  }

  /// Bit 11 for names that are UTF-8 beyond ASCII; raw bytes that are not
  /// UTF-8 go without it, as Info-ZIP does.
  static func nameFlags(_ name: [UInt8]) -> UInt16 {
    guard name.contains(where: { $0 >= 0x80 }) else { return 0 }
    return String(validating: name, as: UTF8.self) != nil ? flagUTF8 : 0
  }
}

import Support
