// The HTTP adapter (`agent-bridge serve`) lands with its own issue: Hummingbird
// routes generated from the registry onto the same Dispatcher stdio uses.
import Hummingbird
