import NIOConcurrencyHelpers

extension SluiceClient {
    /// Runs `body` inside one slot of the admission queue: waits FIFO when all slots are busy,
    /// refuses at once with `.queueFull` when the queue is full too (back-pressure), and frees
    /// the slot however `body` ends.
    func withAdmission<T>(_ body: () async throws -> T) async throws -> T {
        try await admit()
        do {
            let result = try await body()
            release()
            return result
        } catch {
            release()
            throw error
        }
    }

    /// Waits for a slot. The continuation is stored under the same lock as the enqueue, and a
    /// cancelled task is checked under it too, so a cancellation can never miss a waiter.
    private func admit() async throws {
        let ticket = state.withLockedValue { state in
            state.nextTicket += 1
            return state.nextTicket
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let admission: AdmissionQueue<UInt64>.Admission? = state.withLockedValue { state in
                    if Task.isCancelled { return nil }
                    let admission = state.queue.enqueue(ticket)
                    if case .queued = admission { state.waiters[ticket] = continuation }
                    return admission
                }
                switch admission {
                case nil: continuation.resume(throwing: SluiceClientError.cancelled)
                case .started: continuation.resume()
                case .full: continuation.resume(throwing: SluiceClientError.queueFull(capacity: configuration.queueCapacity))
                case .queued: break
                }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in
                state.queue.cancel(ticket) ? state.waiters.removeValue(forKey: ticket) : nil
            }
            waiter?.resume(throwing: SluiceClientError.cancelled)
        }
    }

    /// Frees a slot and starts the oldest waiter in it.
    private func release() {
        let next = state.withLockedValue { state in
            state.queue.finish().flatMap { state.waiters.removeValue(forKey: $0) }
        }
        next?.resume()
    }

    /// Waits until the pacer lets the next attempt start. Called before every attempt, retries
    /// included, since the server counts each one against the key's RPM.
    func pace() async throws {
        let now = configuration.now()
        let wait = state.withLockedValue { $0.pacer.reserve(now: now) }
        if wait > .zero { try await configuration.sleep(wait) }
    }

    /// Learns the RPM from an answer's `RateLimit-Policy` when pacing is `.learned`.
    func learn(policy: String?, rateLimit: String?) {
        guard configuration.pacing == .learned, let policy else { return }
        guard let rpm = RateLimitPolicyHeader(policy: policy, rateLimit: rateLimit).requestsPerMinute else { return }
        state.withLockedValue { state in
            if state.pacer.requestsPerMinute != rpm { state.pacer.update(requestsPerMinute: rpm) }
        }
    }
}
