import Prometheus

/// The relay's figures for Prometheus (`GET /metrics`): counts and latencies only, never
/// journal ids, device keys or client addresses.
final class RelayMetrics: Sendable {
  let registry = PrometheusCollectorRegistry()
  private let entriesStored: Counter
  private let bytesStored: Counter
  private let entriesPulled: Counter
  private let pushes: Counter
  private let pulls: Counter
  private let pushLatency: DurationHistogram
  private let pullLatency: DurationHistogram
  let journals: Gauge
  let entriesHeld: Gauge
  let bytesHeld: Gauge

  static let buckets: [Duration] = [
    .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
    .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
    .seconds(5),
  ]

  init() {
    func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
      MetricNameDescriptor(
        namespace: "anker", subsystem: "relay", metricName: metric, unitName: unit,
        helpText: help)
    }
    entriesStored = registry.makeCounter(
      descriptor: name("entries_stored", "total", "Entries stored since the relay started"))
    bytesStored = registry.makeCounter(
      descriptor: name("stored", "bytes_total", "Bytes of entries stored since the relay started"))
    entriesPulled = registry.makeCounter(
      descriptor: name("entries_pulled", "total", "Entries served in pages"))
    pushes = registry.makeCounter(descriptor: name("pushes", "total", "Push requests answered"))
    pulls = registry.makeCounter(descriptor: name("pulls", "total", "Page requests answered"))
    pushLatency = registry.makeDurationHistogram(
      descriptor: name("push", "seconds", "Time to answer a push"), buckets: Self.buckets)
    pullLatency = registry.makeDurationHistogram(
      descriptor: name("pull", "seconds", "Time to answer a page request"), buckets: Self.buckets)
    journals = registry.makeGauge(descriptor: name("journals", "count", "Journals loaded"))
    entriesHeld = registry.makeGauge(
      descriptor: name("entries_held", "count", "Entries held in loaded journals"))
    bytesHeld = registry.makeGauge(
      descriptor: name("held", "bytes", "Bytes of entries held in loaded journals"))
  }

  func stored(entries: Int, bytes: Int) {
    entriesStored.increment(by: Int64(entries))
    bytesStored.increment(by: Int64(bytes))
  }

  func pulled(entries: Int) { entriesPulled.increment(by: Int64(entries)) }

  func pushed(_ duration: Duration) {
    pushes.increment()
    pushLatency.record(duration)
  }

  func pulledPage(_ duration: Duration) {
    pulls.increment()
    pullLatency.record(duration)
  }

  /// A refused request or entry, by reason (a fixed set of codes).
  func rejected(_ reason: String) {
    registry.makeCounter(
      descriptor: MetricNameDescriptor(
        namespace: "anker", subsystem: "relay", metricName: "rejections", unitName: "total",
        helpText: "Requests and entries refused, by reason"),
      labels: [("reason", reason)]
    ).increment()
  }
}
