import BridgeProtocol
import JSONRPC
import Logging
import Synchronization

/// Forwards stored feedback records to `--feedback-url` in the background.
///
/// The store is the queue: a record is forwarded only after it is on disk,
/// and marked in the deliveries file once the URL accepted it, so a restart
/// resumes with whatever was not delivered. Delivery is at least once (a
/// crash between the POST and the mark sends it again); receivers can
/// deduplicate on `feedback_id`. Records go out one at a time, oldest first;
/// a failing URL is retried with exponential backoff and jitter, forever, as
/// long as the process runs. Nothing here blocks or fails a reply.
///
/// POSTs go through `FeedbackPoster` (AsyncHTTPClient, http or https), whose
/// client the loop starts on its first POST and shuts down when it ends.
public final class FeedbackForwarder: Sendable {
  public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    /// Per attempt, so one hung connection cannot stall the queue.
    public var requestTimeout: Duration

    public init(
      initial: Duration = .milliseconds(500), maximum: Duration = .seconds(60), requestTimeout: Duration = .seconds(15)
    ) {
      self.initial = initial
      self.maximum = maximum
      self.requestTimeout = requestTimeout
    }
  }

  public var url: FeedbackPoster.Endpoint { poster.endpoint }
  let poster: FeedbackPoster
  let store: FeedbackStore
  let backoff: Backoff
  let logger: Logger
  private let wakeUps: AsyncStream<Void>
  private let wakeUp: AsyncStream<Void>.Continuation
  private let task = Mutex<Task<Void, Never>?>(nil)

  /// - Parameter trustRootsFile: `--feedback-ca-file`: a PEM file whose
  ///   certificates are the only roots trusted for an https URL.
  public init(
    store: FeedbackStore, url: String, trustRootsFile: String? = nil, backoff: Backoff = Backoff(), logger: Logger
  ) throws(ResponseError) {
    let endpoint: FeedbackPoster.Endpoint
    do {
      endpoint = try FeedbackPoster.Endpoint(url: url)
    } catch {
      throw ResponseError(
        code: .invalidParams, message: "--feedback-url must be an http:// or https:// URL: \(error.reason)")
    }
    do {
      poster = try FeedbackPoster(endpoint: endpoint, trustRootsFile: trustRootsFile)
    } catch {
      throw ResponseError(code: .invalidParams, message: "--feedback-ca-file: \(error.reason)")
    }
    self.store = store
    self.backoff = backoff
    self.logger = logger
    // One pending wake-up is enough: each pass reads every undelivered record.
    (wakeUps, wakeUp) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
  }

  /// Starts the background loop; it first forwards what earlier runs left.
  public func start() {
    task.withLock { task in
      guard task == nil else { return }
      task = Task.detached(priority: .utility) { [self] in await run() }
    }
  }

  /// Tells the loop a record was appended.
  public func recordAppended() { wakeUp.yield() }

  /// Stops the loop (records stay on disk for the next run); the loop then
  /// shuts its HTTP client down.
  public func stop() {
    wakeUp.finish()
    task.withLock { $0?.cancel() }
  }

  /// Stops the loop and waits, at most `limit`, for its client to close.
  public func finish(within limit: Duration = .seconds(1)) async {
    stop()
    guard let running = task.withLock({ $0 }) else { return await poster.shutdown() }
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await running.value }
      group.addTask { try? await Task.sleep(for: limit) }
      await group.next()
      group.cancelAll()
    }
  }

  private func run() async {
    await forward()
    await poster.shutdown()
  }

  private func forward() async {
    var wakeUps = wakeUps.makeAsyncIterator()
    while !Task.isCancelled {
      do {
        for record in try store.undelivered() {
          guard await deliver(record) else { return }
        }
      } catch {
        logger.warning("feedback forwarding: cannot read the store: \(error.message)")
      }
      guard await wakeUps.next() != nil else { return }
    }
  }

  private enum Attempt {
    case accepted(Int)
    case rejected(Int)
    case retry(String)
    case cancelled
  }

  /// Sends one record until the URL takes or refuses it; false when cancelled.
  private func deliver(_ record: JSONValue) async -> Bool {
    let id = record["feedback_id"]?.stringValue ?? ""
    var delay = backoff.initial
    while !Task.isCancelled {
      let delivery: FeedbackStore.Delivery
      switch await post(record) {
      case .cancelled:
        return false
      case .accepted(let status):
        delivery = FeedbackStore.Delivery(feedbackId: id, outcome: .delivered, httpStatus: status)
      case .rejected(let status):
        logger.warning("feedback \(id): \(url) refused it with HTTP \(status); not retrying")
        delivery = FeedbackStore.Delivery(feedbackId: id, outcome: .rejected, httpStatus: status)
      case .retry(let reason):
        logger.info("feedback \(id): \(reason); retrying in \(delay)")
        // Full jitter over the upper half, so several bridges sharing a URL
        // do not retry in lockstep.
        let jittered = delay * Double.random(in: 0.5...1.0)
        do { try await Task.sleep(for: jittered) } catch { return false }
        delay = min(delay * 2, backoff.maximum)
        continue
      }
      do {
        try await store.mark(delivery)
      } catch {
        // Not marked: it will be sent again on the next pass or run.
        logger.warning("feedback \(id): delivered but not marked: \(error.message)")
      }
      return true
    }
    return false
  }

  private func post(_ record: JSONValue) async -> Attempt {
    do {
      let status = try await poster.post(JSONWriter.encode(record), timeout: backoff.requestTimeout)
      switch status {
      case 200..<300: return .accepted(status)
      // Timeouts, rate limits and server errors may pass; other 4xx will not.
      case 408, 425, 429: return .retry("HTTP \(status)")
      case 400..<500: return .rejected(status)
      default: return .retry("HTTP \(status)")
      }
    } catch let failure as FeedbackPoster.Failure {
      return .retry(failure.reason)
    } catch {
      return .cancelled
    }
  }
}
