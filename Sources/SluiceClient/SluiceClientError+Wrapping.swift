extension SluiceClientError {
    /// Any error a call ran into, as the typed error the public API throws: a cancelled task is
    /// `.cancelled` whatever AsyncHTTPClient reported it as; anything without an HTTP answer
    /// (connection refused, reset, timeout, a body cut short) is `.transport`.
    static func wrap(_ error: any Error) -> SluiceClientError {
        if let typed = error as? SluiceClientError { return typed }
        if error is CancellationError || Task.isCancelled { return .cancelled }
        return .transport(String(describing: error))
    }
}
