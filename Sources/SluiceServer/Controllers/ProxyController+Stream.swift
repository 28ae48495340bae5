import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceProviders
import Synchronization

extension ProxyController {
    /// Relays a provider's SSE stream event by event as it arrives, flushing each at once.
    ///
    /// The usage chunk Sluice asked for is dropped unless the caller asked for it too. When the
    /// provider breaks off, the caller gets one SSE error event and no `[DONE]`. When the caller
    /// goes away, the upstream call is cancelled. A provider that sends nothing for
    /// `retry.idle_timeout_s` is treated as broken off: its connection is closed. Either way the
    /// usage so far is recorded (estimated from the streamed text when the provider sent none).
    func relayStream(_ answer: UpstreamAnswer, body: ClientRequestBody, usage: UsageDraft, ticket: AdmissionTicket) -> Response {
        var headers = answer.headers
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let gateway = self.gateway
        let price = gateway.config.models[answer.model]!.price
        let estimatedInput = body.estimatedPromptTokens
        let keepUsageChunk = body.callerWantsUsageChunk
        let idleTimeout = Duration.seconds(gateway.config.retry.idleTimeoutSeconds)
        return Response(status: .init(code: Int(answer.response.status.code)), headers: headers, body: .init { writer in
            var usage = usage
            var parser = SSEParser()
            var reported: TokenUsage?
            var textBytes = 0
            var sawDone = false
            var clientGone = false
            var upstreamFailure: String?
            // The provider's body is read by a child task so that a watchdog can end a stalled
            // stream: cancelling the reader closes the upstream connection.
            let (chunks, feed) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            let activity = StreamActivity()
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do {
                            for try await chunk in answer.response.body {
                                activity.touch()
                                feed.yield(chunk)
                            }
                            feed.finish()
                        } catch {
                            feed.finish(throwing: error)
                        }
                    }
                    group.addTask {
                        while true {
                            let quiet = activity.quietFor()
                            if quiet >= idleTimeout {
                                feed.finish(throwing: StreamStalled(seconds: idleTimeout.components.seconds))
                                return
                            }
                            try await Task.sleep(for: idleTimeout - quiet)
                        }
                    }
                    defer { group.cancelAll() }
                    for try await chunk in chunks {
                        var out = ByteBuffer()
                        for event in parser.feed(chunk.readableBytesView) {
                            if event.isDone { sawDone = true }
                            if let data = event.data, !event.isDone, let inspection = StreamChunkInspector.inspect(data) {
                                if let tokens = inspection.usage { reported = tokens }
                                textBytes += inspection.textBytes
                                if inspection.isUsageOnly, !keepUsageChunk { continue }
                            }
                            out.writeBytes(event.raw)
                        }
                        guard out.readableBytes > 0 else { continue }
                        do {
                            try await writer.write(out)
                            usage.markFirstByte()
                        } catch {
                            clientGone = true
                            break
                        }
                    }
                }
                if !sawDone, !clientGone { upstreamFailure = "the stream ended before [DONE]" }
            } catch let stalled as StreamStalled {
                upstreamFailure = "no event for \(stalled.seconds) s (retry.idle_timeout_s); the connection was closed"
            } catch {
                upstreamFailure = "\(error)"
            }
            if let upstreamFailure, !clientGone {
                let event = GatewayError(status: 502, code: .upstreamError,
                                         message: "Provider \(answer.target.providerName) broke off the stream: \(upstreamFailure)")
                let payload = "{\"error\":{\"message\":\(JSONText.quoted(event.message)),\"type\":\"server_error\",\"code\":\"upstream_error\"}}"
                try? await writer.write(ByteBuffer(string: "data: \(payload)\n\n"))
                usage.row.errorCode = ErrorCode.upstreamError.rawValue
            }
            if let reported {
                usage.settle(input: reported.inputTokens, output: reported.outputTokens, price: price, estimated: false)
            } else {
                usage.settle(input: estimatedInput, output: estimatedTokens(forTextBytes: textBytes), price: price, estimated: true)
            }
            await ticket.settle(tokens: usage.row.inputTokens + usage.row.outputTokens, cost: usage.row.cost)
            usage.row.status = Int(answer.response.status.code)
            usage.row.latencyMs = usage.elapsedMs
            gateway.usage.record(usage.row)
            // Throwing tells the server the connection is dead, so it is closed, not reused.
            if clientGone { throw CancellationError() }
            try await writer.finish(nil)
        })
    }
}

/// When a stream last received anything from the provider.
final class StreamActivity: Sendable {
    private let last = Mutex(ContinuousClock.now)

    func touch() { last.withLock { $0 = .now } }

    func quietFor() -> Duration { last.withLock { ContinuousClock.now - $0 } }
}

/// The provider sent nothing for the idle timeout.
struct StreamStalled: Error {
    let seconds: Int64
}
