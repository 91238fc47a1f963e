// The C library, for every module that imports Support: one place for the
// per-platform module name instead of a `#if canImport` block in each file.
//
// Swift has no non-underscored way to re-export a module: `public import`
// (SE-0409) only lets this module's own public API mention libc types; it does
// not make `open` or `errno` visible to the modules that import Support.
// Wrapping libc instead would mean a second API for the ~100 calls the
// descriptor walk, the watcher and the pipes use. `@_exported` is the
// spelling the compiler and SwiftPM packages (swift-crypto, swift-nio) use for
// exactly this, and it is confined to this file.
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif
