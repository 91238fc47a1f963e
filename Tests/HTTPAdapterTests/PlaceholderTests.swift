import Testing

// Replaced by the HTTP adapter's real tests when `serve` lands.
@Suite struct HTTPAdapterPendingTests {}
